"""The fault matrix over the four HTTP vendors: every fault × every source, through a
fault-injecting proxy in front of the demo servers serving the tiny world.

Each case runs the source twice and asserts the end state against the world:
- transient faults (rate limits in the generic and the vendor's own shape, 500/502/503, a
  timeout, a body cut short, a 200 that is not JSON, a page served twice): the first run
  survives and the warehouse equals the world; the second adds nothing;
- permanent faults (401, 403, a cursor that never moves, a rejected cursor): the first run
  stops with a SourceError naming source and endpoint and never the token, loads nothing
  partial; the second run (fault gone) ends equal to the world;
- record faults (a field added, missing, renamed, wrong-typed): the bad record is quarantined
  with reason, field and payload, every other record loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from altor_sim.servers.faults_proxy import Fault
from tests.faults.harness import (
    TIMEOUT,
    loaded_ids,
    outcome,
    quarantined,
    record,
    run_expecting_error,
    served,
)
from tests.integration.test_source_support import TINY_END, world_as_of

pytestmark = pytest.mark.faults

VENDORS = ("zendesk", "stripe", "linear", "github")
# Where each vendor's faults land (a paged listing), and (for GraphQL) which query.
TARGET = {
    "zendesk": ("/api/v2/incremental/tickets/cursor", None),
    "stripe": ("/v1/customers", None),
    "linear": ("/graphql", "workflowStates"),
    "github": ("/repos/acme/api/deployments", None),
}
# The listing the Stripe issue crashed on is /v1/events: its transient faults go there.
TRANSIENT_TARGET = {**TARGET, "stripe": ("/v1/events", None), "linear": ("/graphql", "issues(")}
# How a cursor is spelled in a request that is not the first page.
CURSOR_IN_REQUEST = {"zendesk": "cursor=", "stripe": "starting_after=", "linear": '"after": "',
                     "github": "page=2"}


def at(vendor: str, transient: bool = False, **kw: Any) -> dict[str, Any]:
    path, query_has = (TRANSIENT_TARGET if transient else TARGET)[vendor]
    return {"path": path, "query_has": kw.pop("query_has", query_has), **kw}


TRANSIENT: dict[str, Callable[[str], list[Fault]]] = {
    "429_retry_after": lambda v: [Fault("rate_limit", **at(v, True), times=2)],
    "vendor_rate_limit": lambda v: [Fault("vendor_rate_limit", **at(v, True), times=2)],
    "500": lambda v: [Fault("status", status=500, **at(v, True), times=2)],
    "502": lambda v: [Fault("status", status=502, **at(v, True))],
    "503": lambda v: [Fault("status", status=503, **at(v, True))],
    "timeout": lambda v: [Fault("delay", delay=TIMEOUT + 0.5, **at(v, True))],
    "truncated_body": lambda v: [Fault("truncate", **at(v, True), times=2)],
    "non_json_200": lambda v: [Fault("not_json", **at(v, True))],
    "page_repeated": lambda v: [Fault("repeat", **at(v), nth=2)],
}
PERMANENT: dict[str, Callable[[str], list[Fault]]] = {
    "401": lambda v: [Fault("status", status=401, **at(v), times=-1)],
    "403": lambda v: [Fault("status", status=403, **at(v), times=-1)],
    "same_cursor_forever": lambda v: [Fault("repeat", **at(v), nth=2, times=-1)],
    "cursor_rejected": lambda v: [Fault("status", status=400 if v != "github" else 422,
                                        **at(v, query_has=CURSOR_IN_REQUEST[v]), times=-1)],
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
@pytest.mark.parametrize("vendor", VENDORS)
def test_transient_fault_is_retried_and_the_warehouse_equals_the_world(
        tiny_world, tmp_path, vendor, fault):
    with served(tiny_world, tmp_path, vendor, TRANSIENT[fault](vendor)) as s:
        s.runner.run()
        fired = s.proxy.fired()
        first = loaded_ids(s.runner.warehouse, vendor)
        if fault == "page_repeated":  # a second run (with the fault again) adds nothing
            s.runner.run()
            assert loaded_ids(s.runner.warehouse, vendor) == first
    assert fired >= 1, "the fault was never injected"
    result = outcome(s.runner.warehouse, tiny_world, vendor)
    record(f"{vendor}:{fault}", vendor, True, result, fired)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids
    assert quarantined(s.runner.warehouse, vendor) == []


def test_github_secondary_rate_limit_waits_for_retry_after(tiny_world, tmp_path):
    faults = [Fault("vendor_rate_limit", **at("github", True), secondary=True, retry_after="1")]
    with served(tiny_world, tmp_path, "github", faults) as s:
        s.runner.run()
        seen = [p for m, p, q, k in s.proxy.seen if p == TARGET["github"][0]]
    result = outcome(s.runner.warehouse, tiny_world, "github")
    record("github:secondary_rate_limit", "github", True, result, s.proxy.fired())
    assert (result.lost, result.duplicated) == (0, 0) and len(seen) >= 3


@pytest.mark.parametrize("fault", sorted(PERMANENT))
@pytest.mark.parametrize("vendor", VENDORS)
def test_permanent_fault_stops_the_source_by_name_and_the_next_run_recovers(
        tiny_world, tmp_path, vendor, fault):
    with served(tiny_world, tmp_path, vendor, PERMANENT[fault](vendor)) as s:
        err = run_expecting_error(s.runner.run, s.token)
        fired = s.proxy.fired()
        assert err.source == vendor
        if fault == "same_cursor_forever":
            assert "did not advance" in str(err)
        elif fault in ("401", "403"):
            assert fault in str(err)
        s.proxy.faults.clear()
        s.runner.run()
    assert fired >= 1
    result = outcome(s.runner.warehouse, tiny_world, vendor)
    record(f"{vendor}:{fault}", vendor, True, result, fired)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids


# -- record faults -------------------------------------------------------------------------

def records_of(vendor: str, body: Any) -> list[dict]:
    if vendor == "zendesk":
        return body.get("tickets") or []
    if vendor == "stripe":
        return body.get("data") or []
    if vendor == "linear":
        return ((body.get("data") or {}).get("issues") or {}).get("nodes") or []
    return body if isinstance(body, list) else []


KEY = {"zendesk": "id", "stripe": "id", "linear": "id", "github": "id"}
RECORD_TARGET = {
    "zendesk": ("/api/v2/incremental/tickets/cursor", None, "tickets"),
    "stripe": ("/v1/customers", None, "customers"),
    "linear": ("/graphql", "issues(", "issues"),
    "github": ("/repos/acme/api/deployments", None, "deployments"),
}
# A hinted field of each target and a value of the wrong type for it.
WRONG_TYPE = {"zendesk": ("organization_id", "not-a-number"), "stripe": ("delinquent", "yes"),
              "linear": ("priority", "urgent!"), "github": ("created_at", "last tuesday")}


def mutation(vendor: str, kind: str, victims: list) -> Callable[[Any], Any]:
    def change(body: Any) -> Any:
        recs = records_of(vendor, body)
        if not recs:
            return body
        rec = recs[0]
        victims.append(rec.get(KEY[vendor]))
        if kind == "field_added":
            rec["x_vendor_new_field"] = {"nested": [1, 2]}
        elif kind == "field_missing":
            rec.pop(KEY[vendor])
        elif kind == "field_renamed":
            rec[KEY[vendor].upper()] = rec.pop(KEY[vendor])
        elif kind == "field_wrong_type":
            name, value = WRONG_TYPE[vendor]
            rec[name] = value
        return body
    return change


@pytest.mark.parametrize("kind", ["field_added", "field_missing", "field_renamed",
                                  "field_wrong_type"])
@pytest.mark.parametrize("vendor", VENDORS)
def test_record_fault_quarantines_the_record_and_loads_the_rest(tiny_world, tmp_path, vendor,
                                                                kind):
    path, query_has, table = RECORD_TARGET[vendor]
    victims: list = []
    faults = [Fault("mutate", path=path, query_has=query_has, mutate=mutation(vendor, kind,
                                                                             victims))]
    with served(tiny_world, tmp_path, vendor, faults) as s:
        if vendor == "stripe" and kind in ("field_missing", "field_renamed"):
            # Stripe pages on the last object's id: a page whose last object has none cannot
            # be paged on; the source stops naming the field, and the next run recovers.
            err = run_expecting_error(s.runner.run, s.token)
            assert err.field == "id" and err.endpoint == "/v1/customers"
            s.proxy.faults.clear()
            s.runner.run()
            result = outcome(s.runner.warehouse, tiny_world, vendor)
            record(f"{vendor}:{kind}", vendor, True, result, 1)
            assert (result.lost, result.duplicated) == (0, 0), result.lost_ids
            return
        s.runner.run()
    assert victims, "no record was changed"
    q = quarantined(s.runner.warehouse, vendor)
    if kind == "field_added":  # an added field is not an error: the record loads
        assert q == []
        result = outcome(s.runner.warehouse, tiny_world, vendor)
    else:
        assert len(q) == 1, q
        endpoint, field, reason, payload = q[0]
        name = WRONG_TYPE[vendor][0] if kind == "field_wrong_type" else KEY[vendor]
        assert field == name and endpoint and reason
        payload = json.loads(payload)
        if kind != "field_missing":  # the payload is the record as received
            assert victims[0] in (payload.get(KEY[vendor]), payload.get(KEY[vendor].upper()))
        excused = {table: {victims[0]}}
        if vendor == "github":  # nor has a deployment not stored its statuses
            excused["deployment_statuses"] = {
                i for i, d in world_as_of(tiny_world, "github", "deployment_statuses",
                                          TINY_END).items()
                if d["deployment_url"].rstrip("/").endswith(f"/{victims[0]}")}
        result = outcome(s.runner.warehouse, tiny_world, vendor, excused=excused)
        assert victims[0] not in loaded_ids(s.runner.warehouse, vendor)[table]
    record(f"{vendor}:{kind}", vendor, True, result, 1)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids


def test_a_ticket_export_without_its_metric_sets_stops_the_source_naming_the_field(tiny_world,
                                                                                 tmp_path):
    """The metrics come only through the export's sideload: a page that lacks it must stop the
    run (tickets without their metrics would leave the table stale without a word), and the
    next run loads everything once."""
    def drop(body: Any) -> Any:
        body.pop("metric_sets", None)
        return body

    faults = [Fault("mutate", path="/api/v2/incremental/tickets/cursor", times=-1, mutate=drop)]
    with served(tiny_world, tmp_path, "zendesk", faults) as s:
        err = run_expecting_error(s.runner.run, s.token)
        assert (err.endpoint, err.field) == (
            "/api/v2/incremental/tickets/cursor?include=metric_sets", "metric_sets")
        s.proxy.faults.clear()
        s.runner.run()
        result = outcome(s.runner.warehouse, tiny_world, "zendesk")
    record("zendesk:metric_sets_missing", "zendesk", True, result, 1)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids


def test_a_next_page_that_drops_the_comment_sideload_still_brings_every_comment(tiny_world,
                                                                               tmp_path):
    """Without `include=comment_events` an events page answers all the same, only with no
    comments: the source asks for the sideload again on every page."""
    def drop_include(body: Any) -> Any:
        if body.get("next_page"):
            body["next_page"] = body["next_page"].replace("include=comment_events", "")
        return body

    faults = [Fault("mutate", path="/api/v2/incremental/ticket_events", times=-1,
                    mutate=drop_include)]
    with served(tiny_world, tmp_path, "zendesk", faults) as s:
        s.runner.run()
        pages = [q for q in s.proxy.seen if q[1] == "/api/v2/incremental/ticket_events"]
        result = outcome(s.runner.warehouse, tiny_world, "zendesk")
    assert len(pages) > 2 and all(q[2].get("include") == ["comment_events"] for q in pages)
    record("zendesk:comment_sideload_dropped", "zendesk", True, result, len(pages) - 1)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids


def test_an_audit_whose_children_are_not_a_list_is_quarantined(tiny_world, tmp_path):
    victims: list = []

    def garble(body: Any) -> Any:
        events = body.get("ticket_events") or []
        if events and not victims:
            victims.append(events[0])
            events[0] = {**events[0], "child_events": "not a list"}
        return body

    faults = [Fault("mutate", path="/api/v2/incremental/ticket_events", mutate=garble)]
    with served(tiny_world, tmp_path, "zendesk", faults) as s:
        s.runner.run()
        q = quarantined(s.runner.warehouse, "zendesk")
        comments_lost = {c["comment_id"] for c in victims[0]["child_events"]
                         if c.get("event_type") == "Comment"}
        result = outcome(s.runner.warehouse, tiny_world, "zendesk",
                         excused={"ticket_comments": comments_lost})
    assert [(endpoint, field) for endpoint, field, _, _ in q] == [
        ("/api/v2/incremental/ticket_events", "child_events")]
    record("zendesk:child_events_not_a_list", "zendesk", True, result, 1)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids
