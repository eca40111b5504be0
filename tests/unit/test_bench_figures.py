"""The bench's pure helpers: the 1% clock, the goals' verdicts, the tiers."""

from __future__ import annotations

import pytest

from altor_sim.bench.incremental import clock_for_new_share
from altor_sim.bench.speed import goals_met, main


def test_the_clock_leaves_the_asked_share_of_tickets_new():
    created = [float(t) for t in range(1000)]
    clock = clock_for_new_share(created, end=999.0, share=0.01)
    before = sum(t <= clock for t in created)
    after = sum(clock < t <= 999 for t in created)
    assert before == 990 and after == 10


def test_the_clock_ignores_tickets_after_the_end_and_keeps_one_ticket_new():
    created = [1.0, 2.0, 3.0, 50.0]
    assert clock_for_new_share(created, end=3.0, share=0.01) == 2.0


def test_goals_are_met_below_or_above_their_bound_and_unknown_when_not_measured():
    verdict = goals_met({"clickhouse_bytes_fetched_over_raw": 0.0074,
                         "incremental_over_full": 0.2,
                         "set_based_speedup_over_per_ticket": 150.0})
    assert verdict == {"clickhouse_bytes_fetched_over_raw": True,
                       "incremental_over_full": False,
                       "set_based_speedup_over_per_ticket": True,
                       "note_latency_p95_seconds_at_1000_per_hour": None}


def test_a_misspelt_tier_is_refused_before_any_work(capsys):
    with pytest.raises(SystemExit):
        main(["--tier", "meduim"])
    assert "unknown tier 'meduim'" in capsys.readouterr().err
