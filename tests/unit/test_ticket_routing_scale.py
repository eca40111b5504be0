"""The routing neighbours' search stays linear in the help desk's history: a word is looked up
among its 200 most recent tickets before the investigation time, not every earlier ticket
(sql/features/ticket_routing.sql). A history of 5,000 tickets, where one rare word is in 250."""

from __future__ import annotations

import math
from datetime import timedelta

import duckdb
import pytest

from tests.fixtures.warehouse_fixtures import T0, create_tables, insert, investigate, ticket

M = timedelta(minutes=1)
FILLER = 4_800  # tickets with words of their own only
COMMON = 250  # tickets with the word "zorblax" (under 5% of the tickets before the new ones)
OLD = 50  # the oldest of them also say "quuxly"; they were misrouted to Trust Desk
NEW_TICKET, BOUNDARY_TICKET = 9_999, 9_998


def _solved(ticket_id: int, at, cause: str, group: int, event: int) -> list[dict]:
    return [
        {"ticket_id": ticket_id, "field_name": "group_id", "value": str(group),
         "updated_at": at, "event_id": event},
        {"ticket_id": ticket_id, "field_name": "status", "value": "solved",
         "updated_at": at, "event_id": event + 1},
        {"ticket_id": ticket_id, "field_name": "root_cause", "value": cause,
         "updated_at": at, "event_id": event + 2},
    ]


def _history_of_5000() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_tables(con)
    insert(con, "staging.stg_zendesk__groups", [
        {"group_id": 1, "group_name": "Frontline", "is_engineering": False},
        {"group_id": 3, "group_name": "Trust Desk", "is_engineering": False}])
    start = T0 - 20 * 24 * 60 * M
    tickets, history = [], []
    for i in range(FILLER):
        tickets.append(ticket(i + 1, 21, start + i * M, f"filler{i:05d} word{i:05d}"))
    for k in range(COMMON):  # k = 0 oldest; "plugh" on the 200th and 201st newest
        tid = 100_000 + k
        old = k < OLD
        words = "zorblax" + (" quuxly" if old else "") + (" plugh" if k in (49, 50) else "")
        created = start + (FILLER + k) * M
        tickets.append(ticket(tid, 21, created, words))
        history += _solved(tid, created + 5 * M, "misrouted" if old else "how_to",
                           3 if old else 1, 10 * tid)
    tickets.append(ticket(BOUNDARY_TICKET, 21, T0 - M, "zorblax plugh"))
    tickets.append(ticket(NEW_TICKET, 21, T0, "zorblax quuxly"))
    insert(con, "staging.stg_zendesk__tickets", tickets)
    insert(con, "staging.stg_zendesk__ticket_field_history", history)
    return con


@pytest.fixture(scope="module")
def con():
    con = _history_of_5000()
    investigate(con, ticket_ids=[NEW_TICKET, BOUNDARY_TICKET])
    yield con
    con.close()


def routing(con, ticket_id: int, columns: str = "routing_neighbours, routing_top_similarity, "
            "routing_misrouted_neighbours, routing_group") -> tuple:
    return con.execute(f"SELECT {columns} FROM features.ticket_routing WHERE ticket_id = ?",
                       [ticket_id]).fetchone()


def test_a_word_is_looked_up_among_its_200_newest_tickets_only(con):
    n, top, misrouted, group = routing(con, NEW_TICKET)
    before = FILLER + COMMON + 1  # the boundary ticket too
    quuxly = math.log((before + 1) / (OLD + 1))
    zorblax = math.log((before + 1) / (COMMON + 1 + 1))
    # the 50 old tickets share both words, but the 200 newest with "zorblax" (the boundary
    # ticket and 199 how_to ones) do not reach them: they match through "quuxly" alone
    # (uncapped, their similarity would be quuxly + zorblax)
    assert top == pytest.approx(quuxly)
    assert quuxly > zorblax
    assert (n, misrouted, group) == (10, 10, "Trust Desk")


def test_the_200th_newest_counts_in_full_and_the_201st_not(con):
    n, top, misrouted, _ = routing(con, BOUNDARY_TICKET)
    before = FILLER + COMMON
    zorblax = math.log((before + 1) / (COMMON + 1))
    plugh = math.log((before + 1) / (2 + 1))
    # ticket k=50 (how_to) is the 200th newest with "zorblax": both words count; k=49
    # (misrouted) is the 201st: "plugh" only, so the top neighbour is k=50
    assert top == pytest.approx(zorblax + plugh)
    assert n == 10 and misrouted == 1
    # the ten: k=50 (zorblax + plugh), k=49 (plugh), eight newest with zorblax alone; the
    # misrouted one's share of their similarity (with k=49 in reach it would be larger)
    weight = routing(con, BOUNDARY_TICKET, "routing_misrouted_weight")[0]
    assert weight == pytest.approx(plugh / (2 * plugh + 9 * zorblax))


def test_investigated_after_its_creation_a_ticket_sees_the_same_references():
    """The live path investigates a ticket a minute or so after it was created: the ticket is
    then one of its words' tickets before t itself, and is not counted among the 200."""
    con = _history_of_5000()
    try:
        def row() -> tuple:
            values = routing(con, BOUNDARY_TICKET, "*")
            return tuple(round(v, 9) if isinstance(v, float) else v for v in values)

        investigate(con, ticket_ids=[BOUNDARY_TICKET])
        at_creation = row()
        # 30 s after its creation, before the next ticket with its words
        investigate(con, ticket_ids=[BOUNDARY_TICKET], as_of=T0 - M / 2)
        assert at_creation[2] == 1  # k=49 out of reach, as at creation
        assert row() == at_creation
    finally:
        con.close()
