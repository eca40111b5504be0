"""The metric marts on the hand-made help desk of tests/fixtures/helpdesk_fixtures.py.

Every expected value is worked out by hand from the fixture rows (see the comments there).
"""

from __future__ import annotations

import math
from datetime import date, datetime

import duckdb
import pytest

from altor_pipelines.reporting import build_metric_marts, ensure_diagnoses_table
from altor_pipelines.warehouse.duckdb import sql_text
from tests.fixtures.helpdesk_fixtures import GO_LIVE, create_diagnoses, create_helpdesk_staging

BEFORE_IN_SCOPE = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13]
AFTER_IN_SCOPE = [20, 21, 22, 23, 24, 25, 26, 27]


def _marts(go_live: datetime) -> duckdb.DuckDBPyConnection:
    """The fixture help desk with its metric marts built for `go_live`."""
    con = duckdb.connect()
    create_helpdesk_staging(con)
    ensure_diagnoses_table(con)
    create_diagnoses(con)
    build_metric_marts(con, go_live)
    return con


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return _marts(GO_LIVE)


def _by_ticket(con: duckdb.DuckDBPyConnection, column: str) -> dict[int, object]:
    rows = con.execute(
        f"SELECT ticket_id, {column} FROM marts.mart_ticket_outcomes ORDER BY ticket_id"
    ).fetchall()
    return dict(rows)


def _wilson(x: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_outcomes_has_one_row_per_ticket_with_deleted_and_merged_out_of_scope(con) -> None:
    scope = _by_ticket(con, "is_in_scope")
    assert len(scope) == 21
    assert [t for t, s in scope.items() if not s] == [10, 11]
    assert _by_ticket(con, "is_closed_by_merge")[10] is True
    assert _by_ticket(con, "is_deleted")[11] is True
    period = _by_ticket(con, "period")
    assert {t for t, p in period.items() if p == "after"} == set(AFTER_IN_SCOPE)


def test_escalated_by_engineering_group_or_by_an_issue_the_ticket_caused(con) -> None:
    escalated = _by_ticket(con, "is_escalated")
    assert sorted(t for t, e in escalated.items() if e) == [4, 5, 6, 7, 8, 11, 12, 21, 22, 23,
                                                            24]
    # ticket 3 links ENG-1, which existed before it: a known bug, not an escalation
    assert escalated[3] is False
    channel = _by_ticket(con, "escalation_channel")
    assert channel[8] == "engineering_issue" and channel[4] == "engineering_group"
    assert _by_ticket(con, "escalated_at")[8] == datetime(2026, 7, 16, 10, 30)
    assert _by_ticket(con, "escalated_at")[5] == datetime(2026, 7, 15, 10, 0)


def test_tickets_that_changed_groups_several_times(con) -> None:
    stations = _by_ticket(con, "group_stations_count")
    escalations = _by_ticket(con, "count_escalations")
    # T5 Tier1 -> Eng -> Tier1 -> Eng Escalations -> Tier1: 5 stations, 2 escalations
    assert (stations[5], escalations[5]) == (5, 2)
    # T12 Tier1 -> Eng -> Eng Escalations: one escalation (eng to eng is not another)
    assert (stations[12], escalations[12]) == (3, 1)
    # T9 has no group history: its current group is its one station
    assert stations[9] == 1
    assert _by_ticket(con, "assignee_stations_count")[1] == 1


def test_escalation_cause_attribution(con) -> None:
    cause = _by_ticket(con, "escalation_cause")
    source = _by_ticket(con, "escalation_cause_source")
    expected = {4: "system_access", 5: "novel", 6: "misrouted", 7: "misrouted",
                8: "system_access", 12: "system_access", 21: "novel", 22: "system_access",
                23: "system_access", 24: "system_access"}
    assert {t: c for t, c in cause.items() if c and t != 11} == expected
    assert source[6] == "routing"  # Eng -> Billing, recorded billing_issue
    assert source[7] == "recorded_cause"
    avoidable = _by_ticket(con, "is_avoidable_escalation")
    assert sorted(t for t, a in avoidable.items() if a) == [4, 22, 23, 24]
    removable = _by_ticket(con, "is_removable_by_diagnosis")
    assert [t for t, r in removable.items() if r] == [24]


def test_touches_reopens_and_first_contact_resolution(con) -> None:
    one = _by_ticket(con, "is_one_touch_resolution")
    two = _by_ticket(con, "is_two_touch_resolution")
    multi = _by_ticket(con, "is_multi_touch_resolution")
    reopens = _by_ticket(con, "count_reopens")
    fcr = _by_ticket(con, "is_first_contact_resolution")
    assert sorted(t for t in BEFORE_IN_SCOPE + AFTER_IN_SCOPE if one[t]) == [
        1, 3, 4, 6, 7, 13, 20, 21, 22, 23, 26, 27]
    assert sorted(t for t in BEFORE_IN_SCOPE + AFTER_IN_SCOPE if two[t]) == [2, 5, 8, 24]
    assert sorted(t for t in BEFORE_IN_SCOPE + AFTER_IN_SCOPE if multi[t]) == [9]
    assert {t: r for t, r in reopens.items() if r} == {2: 1, 3: 1, 27: 1}
    # reopened one-touch tickets (3, 27) are not first-contact resolutions
    assert sorted(t for t in BEFORE_IN_SCOPE + AFTER_IN_SCOPE if fcr[t]) == [
        1, 4, 6, 7, 13, 20, 21, 22, 23, 26]
    # still open: neither one-touch nor FCR
    assert one[12] is False and fcr[25] is False


def test_reply_and_resolution_times(con) -> None:
    frt = _by_ticket(con, "first_reply_time_calendar_minutes")
    assert (frt[1], frt[2], frt[4], frt[12]) == (30, 10, 210, 15)
    assert frt[9] is None  # no public agent reply
    first = _by_ticket(con, "first_resolution_calendar_minutes")
    full = _by_ticket(con, "full_resolution_calendar_minutes")
    assert (first[2], full[2]) == (60, 180)  # solved, reopened, solved again
    assert (first[3], full[3]) == (60, 150)  # closed after its last solve
    assert (first[10], full[10]) == (10, 10)  # merged: closed, never solved
    assert first[12] is None and full[12] is None  # still open
    assert (first[27], full[27]) == (30, 90)
    # business hours: Zendesk's latest TicketMetric, nulled when no reply / not solved
    frtb = _by_ticket(con, "first_reply_time_business_minutes")
    fullb = _by_ticket(con, "full_resolution_business_minutes")
    assert (frtb[1], fullb[2], frtb[9], fullb[12]) == (30, 120, None, None)


def test_investigation_time_manual_before_and_diagnosis_after(con) -> None:
    minutes = _by_ticket(con, "investigation_minutes")
    source = _by_ticket(con, "investigation_source")
    # before: first internal agent note; escalated tickets: first one after the escalation
    assert {t: minutes[t] for t in BEFORE_IN_SCOPE if minutes[t] is not None} == {
        1: 20, 4: 120, 5: 90, 6: 45, 8: 60, 12: 40, 13: 10}
    assert source[13] == "manual"  # a back-filled diagnosis does not count before go-live
    # after: the first diagnosis (an abstention counts; a later re-diagnosis does not)
    assert {t: minutes[t] for t in AFTER_IN_SCOPE if minutes[t] is not None} == {
        20: 2, 21: 3, 22: 1, 23: 50, 24: 4, 26: 1, 27: 2}
    assert source[23] == "manual" and source[21] == "diagnosis"
    assert _by_ticket(con, "is_diagnosis_abstained")[21] is True


def test_escalation_weekly(con) -> None:
    rows = con.execute("""SELECT week_start, tickets, escalated_tickets, escalation_rate
                          FROM marts.mart_escalation_weekly WHERE grain = 'week'
                          ORDER BY week_start""").fetchall()
    assert rows == [(date(2026, 7, 13), 9, 5, 5 / 9), (date(2026, 7, 20), 2, 1, 0.5),
                    (date(2026, 8, 3), 4, 3, 0.75), (date(2026, 8, 10), 4, 1, 0.25)]
    per_customer = con.execute("""SELECT org_id, tickets, escalated_tickets
                                  FROM marts.mart_escalation_weekly
                                  WHERE grain = 'week_customer' AND week_start = '2026-07-13'
                                  ORDER BY org_id""").fetchall()
    assert per_customer == [("org_a", 6, 3), ("org_b", 3, 2)]
    per_cause = con.execute("""SELECT recorded_root_cause, tickets, escalated_tickets
                               FROM marts.mart_escalation_weekly
                               WHERE grain = 'week_cause' AND week_start = '2026-07-20'
                               ORDER BY 1""").fetchall()
    assert per_cause == [("customer_integration", 1, 0), ("unrecorded", 1, 1)]


def test_first_contact_resolution_weekly(con) -> None:
    rows = con.execute("""SELECT week_start, tickets, solved_tickets,
                                 first_contact_resolved_tickets, one_touch_tickets,
                                 two_touch_tickets, multi_touch_tickets, reopened_tickets
                          FROM marts.mart_first_contact_resolution_weekly
                          ORDER BY week_start""").fetchall()
    assert rows == [(date(2026, 7, 13), 9, 9, 4, 5, 3, 1, 2),
                    (date(2026, 7, 20), 2, 1, 1, 1, 0, 0, 0),
                    (date(2026, 8, 3), 4, 4, 4, 4, 0, 0, 0),
                    (date(2026, 8, 10), 4, 3, 1, 2, 1, 0, 1)]


def test_the_week_of_go_live_is_split_by_period() -> None:
    # go-live on Tuesday 4 Aug: the week of 3 Aug holds tickets 20, 21 (3 Aug, before) and
    # 22, 23 (4-5 Aug, after); no weekly rate mixes the two periods
    split = _marts(datetime(2026, 8, 4))
    escalation = split.execute("""SELECT period, tickets FROM marts.mart_escalation_weekly
                                  WHERE grain = 'week' AND week_start = '2026-08-03'
                                  ORDER BY period""").fetchall()
    fcr = split.execute("""SELECT period, tickets, solved_tickets
                           FROM marts.mart_first_contact_resolution_weekly
                           WHERE week_start = '2026-08-03' ORDER BY period""").fetchall()
    assert escalation == [("after", 2), ("before", 2)]
    assert fcr == [("after", 2, 2), ("before", 2, 2)]
    # every other week lies wholly in one period: one row each
    assert split.execute("""SELECT count(*) FROM marts.mart_escalation_weekly
                            WHERE grain = 'week' AND week_start <> '2026-08-03'""").fetchone() \
        == (3,)


def test_investigation_time_median_and_p90(con) -> None:
    rows = con.execute("""SELECT period, ticket_group, tickets_measured, median_minutes,
                                 p90_minutes FROM marts.mart_investigation_time
                          ORDER BY period, ticket_group""").fetchall()
    got = {(p, g): (n, m, q) for p, g, n, m, q in rows}
    # before: 10 20 40 45 60 90 120 -> median 45, p90 = 90 + 0.4 * 30
    assert got[("before", "all")] == (7, 45, pytest.approx(102))
    # after: 1 1 2 2 3 4 50 -> median 2, p90 = 4 + 0.4 * 46
    assert got[("after", "all")] == (7, 2, pytest.approx(22.4))
    assert got[("before", "escalated")][:2] == (5, 60)
    assert got[("after", "escalated")][:2] == (4, 3.5)


def test_before_after_counts_values_and_intervals(con) -> None:
    rows = con.execute("SELECT * FROM marts.mart_before_after").fetchall()
    cols = [d[0] for d in con.description]
    got = {r[cols.index("metric")]: dict(zip(cols, r, strict=True)) for r in rows}
    esc = got["escalation_rate"]
    assert (esc["before_count"], esc["before_n"], esc["after_count"], esc["after_n"]) == (
        6, 11, 4, 8)
    assert (esc["before_ci_low"], esc["before_ci_high"]) == pytest.approx(_wilson(6, 11))
    assert esc["before_ci_low"] == pytest.approx(0.2801, abs=1e-4)
    assert esc["before_ci_high"] == pytest.approx(0.7873, abs=1e-4)
    # Newcombe: d - sqrt((p2 - l2)^2 + (u1 - p1)^2)
    (l1, u1), (l2, u2) = _wilson(6, 11), _wilson(4, 8)
    d = 4 / 8 - 6 / 11
    assert esc["change_ci_low"] == pytest.approx(d - math.hypot(0.5 - l2, u1 - 6 / 11))
    assert esc["change_ci_high"] == pytest.approx(d + math.hypot(u2 - 0.5, 6 / 11 - l1))
    assert esc["is_change_significant"] is False
    fcr = got["first_contact_resolution_rate"]
    assert (fcr["before_count"], fcr["before_n"], fcr["after_count"], fcr["after_n"]) == (
        5, 10, 5, 7)
    assert (got["reopen_rate"]["before_count"], got["reopen_rate"]["after_count"]) == (2, 1)
    inv = got["investigation_minutes"]
    # n = 7: ranks floor((7 - 1.96 sqrt 7) / 2) = 0 -> 1 and ceil(1 + (7 + 5.19) / 2) = 8 -> 7
    assert (inv["before_value"], inv["before_ci_low"], inv["before_ci_high"]) == (45, 10, 120)
    assert (inv["after_value"], inv["after_ci_low"], inv["after_ci_high"]) == (2, 1, 50)
    frt = got["first_reply_time_calendar_minutes"]
    assert (frt["before_n"], frt["before_value"], frt["after_n"], frt["after_value"]) == (
        10, 60, 7, 70)
    assert got["first_resolution_calendar_minutes"]["before_value"] == 75
    assert got["full_resolution_calendar_minutes"]["before_value"] == 150


def test_escalation_causes(con) -> None:
    rows = con.execute("""SELECT period, escalation_cause, escalations, share_of_escalations,
                                 attributed_by_routing, avoidable_escalations,
                                 diagnosed_escalations, removable_by_diagnosis
                          FROM marts.mart_escalation_causes""").fetchall()
    assert rows == [
        ("before", "system_access", 3, 0.5, 0, 1, 0, 0),
        ("before", "novel", 1, 1 / 6, 0, 0, 0, 0),
        ("before", "misrouted", 2, 2 / 6, 1, 0, 0, 0),
        ("after", "system_access", 3, 0.75, 0, 3, 2, 1),
        ("after", "novel", 1, 0.25, 0, 0, 0, 0),
        ("after", "misrouted", 0, 0.0, 0, 0, 0, 0),
    ]


def test_model_performance_weekly(con) -> None:
    weeks = con.execute("""SELECT week_start, diagnosed_tickets, delivered, abstained,
                                  agreed, agreement_rate
                           FROM marts.mart_model_performance_weekly WHERE grain = 'week'
                           ORDER BY week_start""").fetchall()
    assert weeks == [(date(2026, 7, 20), 1, 1, 0, 1, 1.0),
                     (date(2026, 8, 3), 3, 2, 1, 1, 0.5),
                     (date(2026, 8, 10), 3, 3, 0, 3, 1.0)]
    causes = con.execute("""SELECT cause, delivered, agreed, recorded_tickets,
                                   recorded_cause_recall
                            FROM marts.mart_model_performance_weekly
                            WHERE grain = 'week_cause' AND week_start = '2026-08-03'
                            ORDER BY cause""").fetchall()
    assert causes == [("billing_issue", 0, 0, 1, 0.0), ("known_bug", 1, 1, 1, 1.0),
                      ("novel", 0, 0, 1, 0.0), ("plan_limit", 1, 0, 0, None)]


def test_marts_build_without_any_diagnoses() -> None:
    con = duckdb.connect()
    create_helpdesk_staging(con)
    counts = build_metric_marts(con, GO_LIVE)  # creates diagnosis.diagnoses empty
    assert counts["marts.mart_model_performance_weekly"] == 0
    assert counts["marts.mart_ticket_outcomes"] == 21
    inv = con.execute("""SELECT investigation_source, count(*) FROM marts.mart_ticket_outcomes
                         WHERE period = 'after' AND investigation_minutes IS NOT NULL
                         GROUP BY ALL""").fetchall()
    assert inv == [("manual", 5)]  # the write-back notes stand in when no diagnoses exist


def test_no_change_is_called_on_a_handful_of_tickets() -> None:
    """Under 10 tickets in a period the intervals' approximations are not trusted: 7 of 7 first
    contact resolutions after go-live against 0 of 10 before has a Newcombe interval far from 0,
    and is still not called a real change."""
    con = duckdb.connect()
    create_helpdesk_staging(con)
    ensure_diagnoses_table(con)
    create_diagnoses(con)
    build_metric_marts(con, GO_LIVE)
    con.execute("UPDATE marts.mart_ticket_outcomes SET is_first_contact_resolution = "
                "(period = 'after') WHERE is_solved")
    con.execute(sql_text("marts/mart_before_after.sql").replace(
        "WITH t AS", "CREATE OR REPLACE TABLE marts.mart_before_after AS WITH t AS", 1))
    before_n, after_n, low, significant = con.execute(
        "SELECT before_n, after_n, change_ci_low, is_change_significant "
        "FROM marts.mart_before_after WHERE metric = 'first_contact_resolution_rate'").fetchone()
    assert (before_n, after_n) == (10, 7)
    assert low > 0.3
    assert significant is False
