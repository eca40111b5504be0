"""A medium generated world (8 weeks, 40 customers, 400 tickets/week): the story it tells is true
in the data: cause mix, escalation split, weekly volume, evidence that exists, symptoms in the
logs."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest

from altor_pipelines.taxonomy import CAUSES, SYSTEM_ACCESS_CAUSES
from altor_sim.world.common import parse_iso
from altor_sim.world.generator import WorldParams, generate_world

PARAMS = WorldParams(seed=11, customers=40, days=56, tickets_per_week=400, requests_per_minute=10)


def _jsonl(path: Path):
    with path.open() as f:
        for line in f:
            row = json.loads(line)
            yield parse_iso(row["at"]), row["object"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("medium") / "w"
    generate_world(out, PARAMS)
    return out


@pytest.fixture(scope="module")
def truth(world) -> dict[int, dict]:
    with (world / "truth" / "tickets.csv").open() as f:
        return {int(r["ticket_id"]): r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def meta(world) -> dict:
    return json.loads((world / "world.json").read_text())


def test_every_cause_of_the_taxonomy_happens(truth):
    mix = Counter(r["root_cause"] for r in truth.values())
    assert set(mix) == set(CAUSES)
    assert all(mix[c] >= 0.04 * len(truth) for c in CAUSES)
    assert all(
        r["should_escalate"] == str(int(r["root_cause"] in ("deploy_regression", "novel")))
        for r in truth.values()
    )


def test_weekly_ticket_volume_is_about_the_parameter(truth, meta):
    start = parse_iso(meta["start"])
    weeks = Counter((parse_iso(r["created_at"]) - start) // (7 * 86400) for r in truth.values())
    assert sorted(weeks) == list(range(8))
    assert all(0.7 * 400 <= weeks[w] <= 1.3 * 400 for w in range(8)), weeks
    assert abs(len(truth) - 8 * 400) <= 0.05 * 8 * 400


def test_escalations_before_go_live_split_like_the_field(world, truth, meta):
    go_live = parse_iso(meta["go_live"])
    eng = {
        o["id"] for _, o in _jsonl(world / "zendesk" / "groups.jsonl") if "Engineering" in o["name"]
    }
    escalated = {
        o["id"] for _, o in _jsonl(world / "zendesk" / "tickets.jsonl") if o["group_id"] in eng
    }
    pre = [t for t, r in truth.items() if parse_iso(r["created_at"]) < go_live]
    assert escalated <= set(pre)
    by = Counter(truth[t]["root_cause"] for t in escalated)
    n = len(escalated)
    system = sum(v for k, v in by.items() if k in SYSTEM_ACCESS_CAUSES) / n
    assert 0.22 <= n / len(pre) <= 0.38
    assert 0.63 <= system <= 0.78, by
    assert 0.13 <= by["novel"] / n <= 0.22, by
    assert 0.08 <= by["misrouted"] / n <= 0.17, by
    assert by["how_to"] == 0


def test_recorded_root_cause_is_right_about_nine_times_in_ten(world, truth, meta):
    latest: dict[int, tuple[int, str | None]] = {}
    for at, o in _jsonl(world / "zendesk" / "tickets.jsonl"):
        if o["id"] not in latest or at >= latest[o["id"]][0]:
            latest[o["id"]] = (at, o["custom_fields"][0]["value"])
    labelled = {t: v for t, (_, v) in latest.items() if v}
    agree = sum(v == truth[t]["root_cause"] for t, v in labelled.items()) / len(labelled)
    assert 0.85 <= agree <= 0.95
    go_live = parse_iso(meta["go_live"])
    after = [t for t, r in truth.items() if parse_iso(r["created_at"]) >= go_live]
    assert after and all(latest[t][1] is None for t in after)


def test_tickets_after_go_live_have_only_their_creation_version(world, truth, meta):
    go_live = parse_iso(meta["go_live"])
    versions = defaultdict(list)
    for at, o in _jsonl(world / "zendesk" / "tickets.jsonl"):
        versions[o["id"]].append((at, o["status"], o["group_id"]))
    after = [t for t, r in truth.items() if parse_iso(r["created_at"]) >= go_live]
    tier1 = versions[after[0]][0][2]
    assert all(len(versions[t]) == 1 and versions[t][0][1:] == ("new", tier1) for t in after)
    before = [t for t in truth if t not in set(after)]
    assert sum(len(versions[t]) for t in before) / len(before) >= 3


def test_known_bug_tickets_arrive_while_their_linear_issue_is_open(world, truth):
    states = defaultdict(list)
    for at, o in _jsonl(world / "linear" / "issues.jsonl"):
        states[o["identifier"]].append((at, o["state"]["type"]))
    kb = [r for r in truth.values() if r["root_cause"] == "known_bug"]
    assert kb
    for r in kb:
        ident = r["evidence"].split(":", 1)[1]
        t = parse_iso(r["created_at"])
        seen = [st for at, st in sorted(states[ident]) if at <= t]
        assert seen and seen[-1] in ("backlog", "unstarted", "started"), (r, states[ident])


def test_evidence_points_at_objects_that_exist_before_the_ticket(world, truth):
    first = {}
    for vendor, name, key in (
        ("github", "deployments", "id"),
        ("stripe", "invoices", "id"),
        ("stripe", "charges", "id"),
        ("stripe", "subscriptions", "id"),
    ):
        for at, o in _jsonl(world / vendor / f"{name}.jsonl"):
            k = (
                f"{vendor}_{name}".rstrip("s").replace("github_deployment", "github_deployment"),
                str(o[key]),
            )
            first[k] = min(at, first.get(k, at))
    source_key = {
        "github_deployment": "github_deployment",
        "stripe_invoice": "stripe_invoice",
        "stripe_charge": "stripe_charge",
        "stripe_subscription": "stripe_subscription",
    }
    checked = 0
    for r in truth.values():
        for part in filter(None, r["evidence"].split(";")):
            src, ident = part.split(":", 1)
            if src in source_key:
                assert (src, ident) in first, part
                assert first[(src, ident)] <= parse_iso(r["created_at"]), (part, r)
                checked += 1
    assert checked > 300


def test_deploy_regression_customers_show_elevated_errors_or_latency_before_the_ticket(
    world, truth
):
    """On the deployed service: the hour before each ticket vs the customer's prior day (median of
    the hourly figures over the 24 h that end one day before the ticket)."""
    org_of = {}
    for _, o in _jsonl(world / "zendesk" / "tickets.jsonl"):
        org_of[o["id"]] = o["organization_id"]
    ext = {o["id"]: o["external_id"] for _, o in _jsonl(world / "zendesk" / "organizations.jsonl")}
    service = {
        str(o["id"]): o["payload"]["service"]
        for _, o in _jsonl(world / "github" / "deployments.jsonl")
    }
    with (
        world / "truth" / "episodes.csv"
    ).open() as f:  # extension: endpoints each bad deploy broke
        endpoints = {
            e["evidence"].split(";")[0].split(":")[1]: e["endpoints"].split(";")
            for e in csv.DictReader(f)
            if e["cause"] == "deploy_regression"
        }
    rows = [
        (t, ext[org_of[t]], r["created_at"], service[dep], ep)
        for t, r in truth.items()
        if r["root_cause"] == "deploy_regression"
        for dep in [r["evidence"].split(":")[1]]
        for ep in set(endpoints[dep])
    ]
    assert len(rows) >= 20
    con = duckdb.connect()
    con.execute(
        "create table tk(ticket_id bigint, org_id varchar, created timestamptz, service varchar, "
        "endpoint varchar)"
    )
    con.executemany("insert into tk values (?, ?, ?::timestamptz, ?, ?)", rows)
    glob = str(world / "clickhouse" / "requests" / "*.parquet")
    res = con.execute(f"""
        with r as (select org_id, service, endpoint, ts, status >= 500 as err, latency_ms
                   from read_parquet('{glob}')),
        j as (select distinct tk.ticket_id, tk.created, r.* from tk join r on r.org_id = tk.org_id
              and r.service = tk.service and r.endpoint = tk.endpoint
              and r.ts >= tk.created - interval 48 hour and r.ts < tk.created),
        last_hour as (select ticket_id, endpoint, avg(err::int) e, quantile_cont(latency_ms, 0.95) p
                      from j where ts >= created - interval 1 hour group by all),
        prior as (select ticket_id, endpoint, date_trunc('hour', ts) h, avg(err::int) e,
                         quantile_cont(latency_ms, 0.95) p
                  from j where ts < created - interval 24 hour group by all)
        select l.ticket_id, l.endpoint, l.e, median(p.e), l.p, median(p.p)
        from last_hour l left join prior p using (ticket_id, endpoint)
        group by l.ticket_id, l.endpoint, l.e, l.p""").fetchall()
    elevated: dict[int, bool] = defaultdict(bool)
    for tid, _ep, err_h, err_d, p95_h, p95_d in res:
        err_d = err_d or 0.0
        elevated[tid] |= err_h >= max(1.5 * err_d, err_d + 0.05) or p95_h >= 1.8 * (p95_d or 1e9)
    assert set(elevated) == {r[0] for r in rows}
    assert all(elevated.values()), [t for t, ok in elevated.items() if not ok]


def test_account_spine_lists_every_org_and_customer(world):
    with (world / "truth" / "accounts.csv").open() as f:
        acc = list(csv.DictReader(f))
    zd = {o["external_id"] for _, o in _jsonl(world / "zendesk" / "organizations.jsonl")}
    cus = {o["metadata"]["org_id"] for _, o in _jsonl(world / "stripe" / "customers.jsonl")}
    orgs = {a["org_id"] for a in acc}
    assert zd | cus <= orgs
    assert cus - zd, "a Stripe customer without a help-desk organization"
    assert zd - cus, "a help-desk organization without a Stripe customer (partner/free)"
