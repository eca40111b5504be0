"""The Stripe source (official library) against the demo servers serving the tiny world,
page size 2."""

from __future__ import annotations

from pathlib import Path

from altor_pipelines.sources.stripe import stripe_source
from altor_sim.servers import start_servers
from tests.integration.test_source_support import (
    TINY_END,
    Runner,
    advanced,
    count,
    killed_run,
    pages_by_path,
    query,
    rerun_at_end,
    run_through_failures,
    ts,
    world_as_of,
)

PAGE = 2
BEFORE_PAST_DUE = "2026-06-01T11:15:00Z"  # invoice in_2 exists; sub_2 still active, no charge
OBJECTS = ("customers", "products", "prices", "subscriptions", "invoices", "charges")


def runner(servers, tmp: Path) -> Runner:
    return Runner("stripe", tmp, lambda: stripe_source(
        servers.urls["stripe"], servers.tokens["stripe"], page_size=PAGE))


def assert_equals_world(wh: Path, world: Path, at: str) -> None:
    for name in OBJECTS:
        objs = world_as_of(world, "stripe", name, at)
        got = {r[0] for r in query(wh, f"SELECT id FROM raw_stripe.{name} "
                                       "WHERE NOT coalesce(deleted, false)"
                                       if name in ("customers", "products", "prices") else
                                       f"SELECT id FROM raw_stripe.{name}")}
        assert got == set(objs), name
        assert count(wh, f"raw_stripe.{name}") == query(
            wh, f"SELECT count(DISTINCT id) FROM raw_stripe.{name}")[0][0]
    subs = world_as_of(world, "stripe", "subscriptions", at)
    assert dict(query(wh, "SELECT id, status FROM raw_stripe.subscriptions")) == {
        i: s["status"] for i, s in subs.items()}
    customers = world_as_of(world, "stripe", "customers", at)
    assert dict(query(wh, "SELECT id, delinquent FROM raw_stripe.customers")) == {
        i: c["delinquent"] for i, c in customers.items()}
    assert count(wh, "raw_stripe.events") == query(
        wh, "SELECT count(DISTINCT id) FROM raw_stripe.events")[0][0]
    assert query(wh, "SELECT max(created) FROM raw_stripe.events")[0][0] <= ts(at)


def test_second_run_adds_no_rows_and_fetches_one_page_per_endpoint(tiny_world, tmp_path):
    _, reqs = rerun_at_end(tiny_world, tmp_path, runner, "raw_stripe")
    seen = pages_by_path(reqs, "stripe")
    assert set(seen) == {f"/v1/{n}" for n in (*OBJECTS, "events")}
    assert all(n == 1 for n in seen.values()), seen
    for q in reqs:  # every list is bounded by created[gte] (and the newest id seen)
        assert "created[gte]" in q["query"] and "ending_before" in q["query"], q


def test_advancing_the_clock_fetches_only_changes(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=BEFORE_PAST_DUE) as servers:
        r = runner(servers, tmp_path)
        r.run()
        wh = r.warehouse
        assert query(wh, "SELECT status FROM raw_stripe.subscriptions WHERE id = 'sub_2'") == [
            ("active",)]
        last_event = query(wh, "SELECT max(created) FROM raw_stripe.events")[0][0]
        last_invoice = query(wh, "SELECT max(created) FROM raw_stripe.invoices")[0][0]
        servers.set_as_of(TINY_END)
        servers.clear_requests()
        r.run()
        reqs = list(servers.requests)
    by_path = {q["path"]: q["query"] for q in reqs}
    assert by_path["/v1/events"]["created[gte]"] == [str(last_event)]
    assert by_path["/v1/invoices"]["created[gte]"] == [str(last_invoice)]
    assert by_path["/v1/subscriptions"]["status"] == ["all"]
    # the update reached the existing rows through events; the new charge through its list
    assert query(wh, "SELECT status FROM raw_stripe.subscriptions WHERE id = 'sub_2'") == [
        ("past_due",)]
    assert query(wh, "SELECT delinquent FROM raw_stripe.customers WHERE id = 'cus_2'") == [
        (True,)]
    assert query(wh, "SELECT status FROM raw_stripe.charges") == [("failed",)]
    assert_equals_world(wh, tiny_world, TINY_END)


def test_killed_run_then_rerun_loses_and_duplicates_nothing(tiny_world, tmp_path):
    with killed_run(tiny_world, tmp_path, runner, BEFORE_PAST_DUE, "stripe", "/v1/charges",
                    400) as (err, r):
        assert err.endpoint == "/v1/charges" and "400" in str(err)
        assert query(r.warehouse, "SELECT status FROM raw_stripe.subscriptions "
                                  "WHERE id = 'sub_2'") == [("active",)]
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_retries_5xx_and_429(tiny_world, tmp_path):
    seen = run_through_failures(tiny_world, tmp_path, runner, "stripe",
                                ("/v1/customers", 500, 1), ("/v1/prices", 429, 1))
    assert seen["/v1/customers"] == 2 and seen["/v1/prices"] == 2
    assert_equals_world(tmp_path / "warehouse.duckdb", tiny_world, TINY_END)


def test_fresh_pipelines_dir_resumes_from_the_warehouse(tiny_world, tmp_path):
    with advanced(tiny_world, tmp_path, runner, BEFORE_PAST_DUE) as (r, servers):
        r.run(pipelines_dir=tmp_path / "fresh-dlt")
        events_q = next(q["query"] for q in servers.requests if q["path"] == "/v1/events")
    assert "created[gte]" in events_q
    assert_equals_world(r.warehouse, tiny_world, TINY_END)
