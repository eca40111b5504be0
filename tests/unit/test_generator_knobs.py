"""The zoo's knobs of the world generator: each world follows altor-world/1 (the validator, with
its request logs) and shows the knob's effect in the files themselves."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from altor_pipelines.taxonomy import SYSTEM_ACCESS_CAUSES
from altor_sim.world.common import DEFAULT_MIX
from altor_sim.world.generator import WorldParams, generate_world, validate_world
from altor_sim.world.vocab import CODES_V2, VOCABULARIES

SMALL = dict(days=21, customers=12, tickets_per_week=200, requests_per_minute=10.0)
V2 = WorldParams(name="knobs-v2", seed=31, vocabulary="v2", services=3, plan_limits_in="price",
                 vague_share=1.0, history_weeks=2, silent_customers=0.25, label_noise=0.2,
                 **SMALL)
RPC = WorldParams(name="knobs-rpc", seed=32, vocabulary="rpc", plan_limits_in="product",
                  label_noise=0.0,
                  cause_mix=dict(DEFAULT_MIX, platform_incident=0.3, how_to=0.05), **SMALL)


def _versions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _latest(path: Path) -> dict:
    out: dict = {}
    for v in _versions(path):
        out[v["object"]["id"]] = v["object"]
    return out


def _logs(root: Path):
    return pq.ParquetDataset(root / "clickhouse" / "requests").read(
        columns=["org_id", "endpoint", "service", "error_code"])


def _truth(root: Path) -> dict[int, str]:
    with (root / "truth" / "tickets.csv").open() as f:
        return {int(r["ticket_id"]): r["root_cause"] for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for p in (V2, RPC):
        root = tmp_path_factory.mktemp("knobs") / p.name
        generate_world(root, p)
        validate_world(root)  # every knob stays inside the format, request logs included
        out[p.name] = root
    return out


def test_knobs_are_recorded_in_world_json_and_defaults_record_none(worlds):
    meta = json.loads((worlds["knobs-v2"] / "world.json").read_text())
    assert meta["knobs"] == {"vocabulary": "v2", "services": 3, "plan_limits_in": "price",
                             "vague_share": 1.0, "history_weeks": 2, "silent_customers": 0.25}
    assert WorldParams().knobs() == {}


def test_vocabulary_names_services_endpoints_codes_plans_and_groups(worlds):
    logs = _logs(worlds["knobs-v2"])
    endpoints = set(pc.unique(logs["endpoint"]).to_pylist())
    assert endpoints and all(e.startswith("/api/v2/") for e in endpoints)
    codes = {c for c in pc.unique(logs["error_code"]).to_pylist() if c}
    assert codes and codes <= set(CODES_V2.values())
    v2 = VOCABULARIES["v2"]
    groups = {g["name"] for g in _latest(worlds["knobs-v2"] / "zendesk" / "groups.jsonl").values()}
    assert groups == set(v2.group_names.values())
    assert any("Engineering" in g for g in groups)  # the format requires one
    plans = {p["name"] for p in _latest(worlds["knobs-v2"] / "stripe" / "products.jsonl").values()}
    assert plans <= {n for names in v2.plan_names for n in names}
    rpc_codes = {c for c in pc.unique(_logs(worlds["knobs-rpc"])["error_code"]).to_pylist() if c}
    assert "RESOURCE_EXHAUSTED" in rpc_codes and all(c.isupper() for c in rpc_codes)
    titles = " ".join(i["title"] for i in _latest(worlds["knobs-rpc"] / "linear" /
                                                    "issues.jsonl").values())
    assert "invalid_cursor" not in titles and "idempotency_conflict" not in titles


def test_number_of_services_is_the_knob(worlds):
    services = set(pc.unique(_logs(worlds["knobs-v2"])["service"]).to_pylist())
    deployed = {d["object"]["payload"]["service"]
                for d in _versions(worlds["knobs-v2"] / "github" / "deployments.jsonl")}
    assert len(services) == 3 and deployed <= services


@pytest.mark.parametrize("world,limits_on,bare", [("knobs-v2", "prices", "products"),
                                                   ("knobs-rpc", "products", "prices")])
def test_plan_limits_live_where_the_knob_says(worlds, world, limits_on, bare):
    root = worlds[world] / "stripe"
    carrying = _latest(root / f"{limits_on}.jsonl").values()
    assert carrying and all(int(o["metadata"]["rate_limit_per_minute"]) > 0 and
                            int(o["metadata"]["monthly_request_quota"]) > 0 for o in carrying)
    assert all("rate_limit_per_minute" not in o["metadata"]
               for o in _latest(root / f"{bare}.jsonl").values())


def test_vague_tickets_name_no_code_endpoint_or_status(worlds):
    root = worlds["knobs-v2"]
    truth = _truth(root)
    first = {}
    for v in _versions(root / "zendesk" / "tickets.jsonl"):
        first.setdefault(v["object"]["id"], v["object"])
    codes = set(CODES_V2.values())
    symptom = [t for t in first.values() if truth[t["id"]] in SYSTEM_ACCESS_CAUSES]
    assert len(symptom) > 50
    for t in symptom:
        text = t["subject"] + " " + t["description"]
        assert "/api/v2/" not in text and not re.search(r"\b[45]\d\d\b", text), text
        assert not any(c in text for c in codes), text


def test_history_weeks_set_go_live(worlds):
    meta = json.loads((worlds["knobs-v2"] / "world.json").read_text())
    assert (meta["start"], meta["go_live"]) == ("2026-06-01T00:00:00Z", "2026-06-15T00:00:00Z")


def test_silent_customers_send_no_requests_but_still_file_tickets(worlds):
    root = worlds["knobs-v2"]
    with (root / "truth" / "accounts.csv").open() as f:
        accounts = {r["org_id"]: r["zendesk_organization_id"] for r in csv.DictReader(f)}
    active = set(pc.unique(_logs(root)["org_id"]).to_pylist())
    silent = set(accounts) - active
    assert len(silent) == 3  # round(12 x 0.25)
    silent_zd = {int(accounts[o]) for o in silent if accounts[o]}
    filed = {t["organization_id"] for t in _latest(root / "zendesk" / "tickets.jsonl").values()}
    assert silent_zd & filed


def _recorded_vs_truth(root: Path) -> tuple[int, int]:
    truth = _truth(root)
    field = json.loads((root / "world.json").read_text())["root_cause_field_id"]
    recorded = {}
    for t in _latest(root / "zendesk" / "tickets.jsonl").values():
        value = next((c["value"] for c in t["custom_fields"] if c["id"] == field), None)
        if value:
            recorded[t["id"]] = value
    wrong = sum(recorded[t] != truth[t] for t in recorded)
    return wrong, len(recorded)


def test_label_noise_is_the_share_of_wrong_recorded_causes(worlds):
    wrong, n = _recorded_vs_truth(worlds["knobs-rpc"])
    assert n > 200 and wrong == 0  # label_noise 0
    wrong, n = _recorded_vs_truth(worlds["knobs-v2"])
    assert n > 200 and 0.12 <= wrong / n <= 0.28  # label_noise 0.2


def test_cause_mix_sets_the_share_of_each_cause(worlds):
    shares = Counter(_truth(worlds["knobs-rpc"]).values())
    total = sum(shares.values())
    assert shares["platform_incident"] / total > 0.2 > shares["how_to"] / total


def test_unknown_knob_values_are_refused_with_the_name():
    with pytest.raises(ValueError, match="unknown vocabulary 'klingon'"):
        generate_world(Path("/nonexistent"), WorldParams(vocabulary="klingon"))
    with pytest.raises(ValueError, match="plan_limits_in='invoice'"):
        WorldParams(plan_limits_in="invoice").check()
    with pytest.raises(ValueError, match="history_weeks=20"):
        WorldParams(days=30, history_weeks=20).check()
