"""Gaps a cursor cannot close on its own: Stripe's events window outlived by a long pause, and a
GitHub commit merged with a date older than the newest commit already synced. Each case runs the
source, moves the world on, runs again, and asserts the warehouse equals the world."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from altor_sim.servers import start_servers
from tests.faults.harness import LogCapture, Runner, make_source, outcome, record
from tests.integration.test_source_support import TINY_END, query, world_as_of

pytestmark = pytest.mark.faults

EVENTS_KEPT = 30 * 86400  # what Stripe keeps
# A field per Stripe table that only changes through a later version (an event)
CHANGING = {"customers": "delinquent", "subscriptions": "status", "invoices": "status",
            "charges": "status"}


def _stale(warehouse, world, at: str) -> dict[str, set]:
    """Stripe objects whose changing field differs between the warehouse and the world at `at`."""
    out: dict[str, set] = {}
    for table, column in CHANGING.items():
        held = dict(query(warehouse, f'SELECT id, "{column}" FROM raw_stripe."{table}"'))
        want = {i: o.get(column) for i, o in world_as_of(world, "stripe", table, at).items()}
        bad = {i for i, v in want.items() if held.get(i, object()) != v}
        if bad:
            out[table] = bad
    return out


def test_stripe_events_mark_older_than_the_events_window_lists_every_object_again(
        tiny_world, tmp_path):
    first = "2026-06-01T11:00:00Z"  # before the changes of the rest of the tiny world
    later = "2026-07-13T00:00:00Z"  # a pause longer than the 30 days of events Stripe keeps
    logs = LogCapture()
    logging.getLogger("altor_pipelines").addHandler(logs)
    try:
        with start_servers(tiny_world, as_of=first) as servers:
            servers.app("stripe").events_kept_seconds = EVENTS_KEPT
            token = servers.tokens["stripe"]
            runner = Runner("stripe", tmp_path, lambda: make_source(
                "stripe", servers.urls["stripe"], token))
            runner.run()
            changed_since = _stale(runner.warehouse, tiny_world, TINY_END)
            assert changed_since, "the case needs objects that change after the first run"
            mark = runner.state("customers")["events_newest"]
            servers.set_as_of(later)
            servers.clear_requests()
            runner.run()
            lists = [r for r in servers.requests if r["path"] == "/v1/customers"]
    finally:
        logging.getLogger("altor_pipelines").removeHandler(logs)
    # every change made while the events aged out reached the warehouse ...
    assert _stale(runner.warehouse, tiny_world, TINY_END) == {}
    result = outcome(runner.warehouse, tiny_world, "stripe")
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids
    # ... because the objects were listed in full (no created filter), and the log says why
    assert lists and not any("created" in (r["query"] or "") for r in lists), lists
    said = [line for line in logs.lines if "older than the events Stripe keeps" in line]
    assert said and mark[1] in said[0] and "endpoint=/v1/events" in said[0], logs.lines
    assert token not in "\n".join(logs.lines)
    record("stripe:events_mark_older_than_window", "stripe", True, result, 1)


def test_github_commit_merged_with_a_date_before_the_cursor_is_fetched(tiny_world, tmp_path):
    world = tmp_path / "world"
    shutil.copytree(tiny_world, world)
    commits = world / "github" / "commits.jsonl"
    known = [json.loads(line) for line in commits.read_text().splitlines()]
    newest = max(known, key=lambda v: v["object"]["commit"]["committer"]["date"])["object"]
    # a branch merged on the second day whose commit is dated before the newest commit synced
    # on the first (a rebase keeps no such promise; a merge keeps the branch's own dates)
    sha = "c" * 40
    dated = "2026-06-01T08:30:00Z"
    assert dated < newest["commit"]["committer"]["date"]
    late = {**newest, "sha": sha, "url": newest["url"].replace(newest["sha"], sha),
            "html_url": newest["html_url"].replace(newest["sha"], sha),
            "commit": {"message": "fix retry budget (merged late)",
                       "author": {"name": "Dev", "date": dated},
                       "committer": {"name": "Dev", "date": dated}},
            "files": [{"filename": "services/charges/retry.py"}]}
    with commits.open("a") as f:
        f.write(json.dumps({"at": "2026-06-02T12:00:00Z", "object": late}) + "\n")
    with start_servers(world, as_of="2026-06-02T00:00:00Z") as servers:
        token = servers.tokens["github"]
        runner = Runner("github", tmp_path, lambda: make_source(
            "github", servers.urls["github"], token))
        runner.run()
        assert sha not in {r[0] for r in query(runner.warehouse,
                                               "SELECT sha FROM raw_github.commits")}
        servers.set_as_of(TINY_END)
        servers.clear_requests()
        runner.run()
        details = [r["path"] for r in servers.requests if "/commits/" in r["path"]]
        runner.run()  # nothing new: the merged commit is not fetched again
        again = [r["path"] for r in servers.requests if "/commits/" in r["path"]]
    assert details == [f"/repos/acme/api/commits/{sha}"] and again == details
    assert query(runner.warehouse, "SELECT commit__message FROM raw_github.commits "
                                   "WHERE sha = ?", [sha]) == [("fix retry budget (merged late)",)]
    result = outcome(runner.warehouse, world, "github")
    record("github:merged_commit_dated_before_cursor", "github", True, result, 1)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids
