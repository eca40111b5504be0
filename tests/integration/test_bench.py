"""`make bench`'s code path on a tiny generated world, so it does not rot: every figure the
issue's tiers ask for is written, positive, with its goal's verdict. Nothing here asserts a time
(the figures of a tiny world say nothing about scale)."""

from __future__ import annotations

import json

import pytest

from altor_sim.bench.speed import GOALS, main


@pytest.mark.slow
def test_bench_writes_every_ratio_of_a_tier_from_one_run(tmp_path):
    out = tmp_path / "tiny.json"
    main(["--days", "14", "--customers", "8", "--tickets-per-week", "120",
          "--requests-per-minute", "8", "--load-tickets", "6", "--agent-sample", "3",
          "--tier", "tiny", "--out", str(out)])
    figures = json.loads(out.read_text())
    assert figures["tier"] == "tiny"
    for key in GOALS:
        assert figures[key] > 0, key
    assert set(figures["goals_met"]) == set(GOALS)
    assert figures["peak_rss_mib"] > 100
    incremental = figures["incremental"]
    assert 0 < incremental["clock"]["new_tickets_share"] <= 0.05
    assert 0 < incremental["clock"]["new_log_rows_share"] <= 0.05
    full, again = incremental["full_run"], incremental["incremental_run"]
    assert list(full["stages"]) == list(again["stages"])
    assert {"sync zendesk", "staging", "features", "diagnosis", "metrics"} <= set(full["stages"])
    # the run after 1% new data investigates only the new and unsettled tickets
    assert 0 < again["tickets_investigated"] < full["tickets_investigated"]
    slowest = list(again["features_slowest_models"].values())
    assert len(slowest) == 10 and slowest == sorted(slowest, reverse=True)
    assert figures["incremental_dominant_stage"]["stage"] in full["stages"]
    assert set(figures["incremental_over_full_by_stage"]) == set(full["stages"])
    agent = incremental["per_ticket_agent"]
    assert agent["tickets"] == 3 and agent["calls"] >= 3 * 4
    assert figures["note_latency"]["notes"] >= 1
    assert figures["note_latency"]["load_tickets_per_hour"] == 1000
    assert "1000/h" in figures["note_latency_measured"]
