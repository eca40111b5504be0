"""The live path over a small generated world served by the demo servers: advance the clock,
new tickets get notes; tickets already diagnosed are not investigated again; the simulated
agents act on the notes through the help desk."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from altor_pipelines.delivery.live import LivePipelines, live_cycle
from altor_pipelines.delivery.writeback import writeback_client
from altor_pipelines.warehouse.duckdb import connect
from altor_sim.agents import SimulatedAgents, historical_behaviour
from altor_sim.live import at_clock, rules_diagnoser
from altor_sim.servers import start_servers
from altor_sim.world.generator import WorldParams
from tests.fixtures.live_world import served_live_world
from tests.integration.test_source_support import query

PARAMS = WorldParams(days=14, customers=12, requests_per_minute=20, tickets_per_week=300, seed=4)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    with served_live_world(tmp, PARAMS) as (servers, settings, world):
        yield {
            "servers": servers,
            "settings": settings,
            "world": world,
            "go_live": datetime.fromisoformat(settings.as_of.replace("Z", "+00:00")),
            # the cycles here keep their dlt pipelines, as a long-running loop does: each cycle
            # must still bring the tickets created since the last
            "pipelines": LivePipelines(),
        }


def cycle(live, at):
    live["servers"].set_as_of(at)
    return live_cycle(at_clock(live["settings"], at), diagnoser=rules_diagnoser,
                      pipelines=live["pipelines"])


def created_between(live, a, b):
    tickets = live["servers"].world.collection("zendesk", "tickets")
    out = set()
    for tid in tickets.ids():
        first = tickets.versions(tid)[0]
        if a.timestamp() < first.at <= b.timestamp():
            out.add(tid)
    return out


def test_new_tickets_get_notes_and_old_ones_are_not_investigated_again(live):
    g = live["go_live"]
    t1, t2 = g + timedelta(hours=6), g + timedelta(hours=9)
    first = cycle(live, t1)
    arrived = created_between(live, g - timedelta(seconds=1), t1)
    assert arrived and set(first.investigated) == arrived
    noted = {
        w["ticket_id"]
        for w in live["servers"].writes
        if w["comment"] and "altor-diagnosis:" in w["comment"]["body"]
    }
    assert noted == arrived and first.delivery.written == len(arrived)
    assert all(w["comment"]["public"] is False for w in live["servers"].writes)

    second = cycle(live, t2)
    later = created_between(live, t1, t2)
    assert later and set(second.investigated) == later  # not one ticket of the first cycle
    assert second.delivery.written == len(later)

    idle = cycle(live, t2 + timedelta(seconds=10))
    assert idle.investigated == [] and idle.delivery.written == 0
    assert "zendesk" in live["pipelines"].sources  # the cycles used the kept pipelines
    notes = [
        w
        for w in live["servers"].writes
        if w["comment"] and "altor-diagnosis:" in w["comment"]["body"]
    ]
    assert len(notes) == len(arrived | later)  # one note per ticket, none twice


def test_simulated_agents_act_on_the_notes_through_the_help_desk(live):
    settings = live["settings"]
    con = connect(settings.warehouse_path, read_only=True)
    try:
        behaviour = historical_behaviour(con, live["go_live"])
    finally:
        con.close()
    assert behaviour and all(0 <= b["p_escalate"] <= 1 for b in behaviour.values())
    agents = SimulatedAgents(live["world"], writeback_client(settings), behaviour, seed=1)
    end = live["go_live"] + timedelta(hours=30)
    live["servers"].set_as_of(end)
    acted = agents.step(end)
    assert acted > 0
    kinds = {a["kind"] for a in agents.actions}
    assert kinds & {"first_contact_solve", "escalate", "first_reply", "wrong_solve"}
    solved = [w for w in live["servers"].writes if w["request"].get("status") == "solved"]
    assert solved and all(w["request"]["custom_fields"][0]["value"] for w in solved)
    assert all(w["at"] <= end.strftime("%Y-%m-%dT%H:%M:%SZ") for w in solved)  # world clock


def test_a_source_is_synced_when_its_change_mark_moves_and_skipped_while_it_does_not(
    live, monkeypatch
):
    from altor_pipelines.delivery import live as live_path
    from altor_pipelines.sources.change_marks import change_mark, unsettled_deployments

    settings, servers = live["settings"], live["servers"]
    start = live["go_live"] + timedelta(hours=30)  # the last live sync was 21 h ago
    stale = cycle(live, start)
    assert stale.synced == ["zendesk", "stripe", "linear", "github", "clickhouse"]
    marks = dict(query(settings.warehouse_path,
                       "SELECT source, mark FROM delivery.live_sync_marks"))
    assert set(marks) == {"stripe", "linear", "github", "clickhouse"}
    assert marks["clickhouse"] == start.replace(minute=0, second=0).isoformat()

    # nothing moved 30 s later (same closed hour, no new event, issue or deployment); GitHub
    # is synced all the same while a deployment waits for its outcome, or waited for it at
    # the last sync (no mark recorded)
    with connect(settings.warehouse_path, read_only=True) as con:
        unsettled = unsettled_deployments(con, start)
    # a staging row that no raw row explains: it stays while its source is not synced (the
    # cycle rebuilds only the staging of what it synced), and goes with the next rebuild
    doubled = {"stripe": ("stg_stripe__customers", "customer_id"),
               "zendesk": ("stg_zendesk__users", "user_id")}
    with connect(settings.warehouse_path) as con:
        for table, _ in doubled.values():
            con.execute(f"INSERT INTO staging.{table} SELECT * FROM staging.{table} LIMIT 1")

    def extra_rows(source: str) -> int:
        table, key = doubled[source]
        return query(settings.warehouse_path, f"SELECT count(*) - count(DISTINCT {key}) "
                     f"FROM staging.{table}")[0][0]

    assert cycle(live, start + timedelta(seconds=30)).synced == (
        ["zendesk", "github"] if unsettled or marks["github"] is None else ["zendesk"])
    assert (extra_rows("zendesk"), extra_rows("stripe")) == (0, 1)

    # the clock a minute after the world's next Stripe event: only then is Stripe synced, and
    # the event its mark names is in the warehouse afterwards
    later = sorted(at for _, _, at in servers.app("stripe").events
                   if at > (start + timedelta(seconds=30)).timestamp())
    assert later, "the live world has Stripe events after its go-live"
    at = datetime.fromtimestamp(later[0] + 60, start.tzinfo)
    servers.set_as_of(at)
    with connect(settings.warehouse_path, read_only=True) as con:
        newest = change_mark("stripe", at_clock(settings, at), con)
    assert newest != marks["stripe"]
    moved = cycle(live, at)
    assert "stripe" in moved.synced
    assert extra_rows("stripe") == 0
    assert query(settings.warehouse_path, "SELECT count(*) FROM raw_stripe.events WHERE id = ?",
                 [newest]) == [(1,)]

    # a sync that fails records no mark: every source it was to sync stays due
    def down(*args, **kwargs):
        raise RuntimeError("vendor down")

    marks_table = "SELECT * FROM delivery.live_sync_marks ORDER BY 1"
    before = query(settings.warehouse_path, marks_table)
    monkeypatch.setattr(live_path, "sync_sources", down)
    with pytest.raises(RuntimeError, match="vendor down"):
        cycle(live, at + timedelta(hours=7))
    assert query(settings.warehouse_path, marks_table) == before


def test_sensor_probe_sees_only_tickets_created_since_its_cursor(tiny_world):
    from altor_pipelines.delivery.live import new_tickets_since
    from altor_pipelines.sources.zendesk import zendesk_client

    with start_servers(tiny_world, as_of="2026-06-02T15:00:00Z") as s:
        client = zendesk_client(s.urls["zendesk"], "a@b.c", s.tokens["zendesk"])
        since = {"created": int(datetime.fromisoformat("2026-06-02T12:00:00+00:00").timestamp())}
        ids, cursor = new_tickets_since(
            client, since, datetime.fromisoformat("2026-06-02T15:00:00+00:00")
        )
        assert ids == [3] and cursor["export"]
        s.set_as_of("2026-06-02T15:30:00Z")
        assert new_tickets_since(client, cursor, datetime.now())[0] == []
        s.set_as_of("2026-06-02T17:00:00Z")  # ticket 4 arrived and was deleted meanwhile
        assert new_tickets_since(client, cursor, datetime.now())[0] == []
