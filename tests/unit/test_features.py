"""Investigation features on the hand-built scenario (tests/fixtures/warehouse_fixtures.py):
values computed by hand from the rows the scenario inserts."""

from __future__ import annotations

import math
from datetime import timedelta

import duckdb
import pytest

from tests.fixtures.warehouse_fixtures import (
    T0,
    T1,
    build_scenario,
    insert,
    insert_traffic,
    investigate,
    investigated_scenario,
    ticket,
)

M = timedelta(minutes=1)
H = timedelta(hours=1)
# The scenario's baseline week [t-8d, t-24h) at T0: 12 orgs with 10 requests/min (all but
# org_g) and org_b's 1 x 500/min, every request at 100 ms; no 4xx.
BASE_MINUTES = 7 * 1440
PLATFORM_BASE_REQUESTS = 12 * 10 * BASE_MINUTES + BASE_MINUTES
PLATFORM_BASE_RATE_5XX = BASE_MINUTES / PLATFORM_BASE_REQUESTS


def p0(n_base: float, requests_base: float, platform_rate: float) -> float:
    """The shrunk baseline rate of ticket_traffic.sql: 100 pseudo-requests at the platform's."""
    return (n_base + 100 * platform_rate + 0.5) / (requests_base + 101)


def z(n: float, requests: float, rate: float) -> float:
    return (n - requests * rate) / math.sqrt(requests * rate * (1 - rate))


@pytest.fixture(scope="module")
def con():
    yield from investigated_scenario()


def row(con, table: str, ticket_id: int, **where) -> dict:
    cond = "".join(f" AND {k} = ${k}" for k in where)
    rel = con.execute(f"SELECT * FROM {table} WHERE ticket_id = $t{cond}",
                      {"t": ticket_id, **where})
    cols = [d[0] for d in rel.description]
    rows = rel.fetchall()
    assert len(rows) == 1, (table, ticket_id, rows)
    return dict(zip(cols, rows[0], strict=True))


def test_one_feature_row_per_ticket(con):
    n, distinct = con.execute(
        "SELECT count(*), count(DISTINCT ticket_id) FROM features.fct_ticket_features"
    ).fetchall()[0]
    assert n == distinct == 10


def test_traffic_windows_and_rates_against_own_baseline(con):
    f = row(con, "features.fct_ticket_features", 101)
    # 10 ok/min all along + 5 x 500/min from T0-35m: 1h = 600 + 175 requests
    assert f["org_requests_1h"] == 775
    assert f["org_requests_6h"] == 3600 + 175
    assert f["org_requests_24h"] == 14400 + 175
    assert f["org_requests_base"] == 7 * 14400
    assert f["org_rate_5xx_1h"] == pytest.approx(175 / 775)
    assert f["org_rate_4xx_1h"] == 0
    assert f["org_anomalous_5xx"] and not f["org_anomalous_4xx"] and not f["org_anomalous_429"]
    # p95: request-weighted mean of bucket p95s: (600 x 100 + 175 x 900) / 775
    assert f["org_p95_ms_1h"] == pytest.approx((600 * 100 + 175 * 900) / 775)
    assert f["org_p95_ms_base"] == pytest.approx(100)
    # every request of a fixture minute takes its p95: the p99 is the p95
    assert f["org_p99_ms_base"] == pytest.approx(100)


def test_traffic_by_status_class_window_and_latency(con):
    f = row(con, "features.fct_ticket_features", 101)
    # org_a's 175 x 500 all fall in the last 35 minutes: in every window; baseline 100,800 ok
    assert f["org_requests_per_hour_base"] == pytest.approx(600)
    assert (f["org_n_5xx_24h"], f["org_n_4xx_24h"], f["org_n_429_24h"]) == (175, 0, 0)
    assert f["org_rate_5xx_6h"] == pytest.approx(175 / 3775)
    assert f["org_rate_5xx_24h"] == pytest.approx(175 / 14575)
    base_5xx = p0(0, 100_800, PLATFORM_BASE_RATE_5XX)
    assert f["org_base_rate_5xx"] == pytest.approx(base_5xx)
    assert f["org_base_rate_4xx"] == pytest.approx(p0(0, 100_800, 0))
    # the largest z of the three windows is the 1h one, which is the one reported
    assert f["org_z_5xx"] == pytest.approx(z(175, 775, base_5xx))
    assert f["org_window_5xx"] == "1h" and f["org_window_4xx"] is None
    # every request of a fixture minute takes its p95: the p99 is the p95 in every window
    p95_1h = (600 * 100 + 175 * 900) / 775
    assert f["org_p99_ms_1h"] == pytest.approx(p95_1h)
    assert f["org_p95_ms_6h"] == pytest.approx((3600 * 100 + 175 * 900) / 3775)
    assert f["org_p95_ms_24h"] == pytest.approx((14400 * 100 + 175 * 900) / 14575)
    assert f["org_p95_ratio_1h"] == pytest.approx(p95_1h / 100)
    assert f["org_p95_ratio_max"] == pytest.approx(p95_1h / 100)
    assert f["org_anomalous_latency"] is True  # 1h p95 >= 1.5 x the baseline's
    # org_e: 10 ok/min and, from T0-3h, 6 x 401/min: the 6h window holds all 1,080 of them
    e = row(con, "features.fct_ticket_features", 105)
    assert e["org_rate_4xx_1h"] == pytest.approx(360 / 960)
    assert e["org_rate_4xx_6h"] == pytest.approx(1080 / 4680)
    assert e["org_rate_4xx_24h"] == pytest.approx(1080 / 15480)
    assert e["org_n_4xx_24h"] == 1080
    base_4xx = p0(0, 100_800, 0)
    assert e["org_z_4xx"] == pytest.approx(z(1080, 4680, base_4xx))
    assert e["org_window_4xx"] == "6h" and e["org_anomalous_4xx"] is True
    # org_c: 10 ok/min, and from T0-2h 10 more ok and 10 x 429 each minute
    c = row(con, "features.fct_ticket_features", 103)
    assert c["org_rate_429_1h"] == pytest.approx(600 / 1800)
    assert c["org_rate_429_6h"] == pytest.approx(1200 / 6000)
    assert c["org_rate_429_24h"] == pytest.approx(1200 / 16800)
    assert c["org_n_429_24h"] == 1200 and c["org_rate_4xx_1h"] == 0


def test_platform_traffic_in_the_same_windows(con):
    f = row(con, "features.fct_ticket_features", 101)
    # the hour before T0, all customers: 12 x 600 ok, org_a 175 x 500 (900 ms), org_b 60 x 500,
    # org_c 600 ok + 600 x 429, org_e 360 x 401, org_l 600 ok at 900 ms
    requests_1h = 7200 + 175 + 60 + 1200 + 360 + 600
    assert requests_1h == 9595
    assert f["platform_rate_5xx_1h"] == pytest.approx(235 / 9595)
    assert f["platform_rate_4xx_1h"] == pytest.approx(360 / 9595)
    assert f["platform_rate_429_1h"] == pytest.approx(600 / 9595)
    # 24h: 12 x 14,400 ok, org_a 175, org_b 1,440, org_c 2 x 1,200, org_e 1,080, org_l 600
    assert f["platform_rate_4xx_24h"] == pytest.approx(1080 / 178_495)
    platform_5xx = p0(BASE_MINUTES, PLATFORM_BASE_REQUESTS, PLATFORM_BASE_RATE_5XX)
    assert f["platform_base_rate_5xx"] == pytest.approx(platform_5xx)
    assert f["platform_base_rate_4xx"] == pytest.approx(p0(0, PLATFORM_BASE_REQUESTS, 0))
    assert f["platform_z_5xx_1h"] == pytest.approx(z(235, 9595, platform_5xx))
    assert f["platform_z_4xx_1h"] == pytest.approx(
        z(360, 9595, p0(0, PLATFORM_BASE_REQUESTS, 0)))
    assert f["platform_anomalous_errors_1h"] is True
    # a minute bucket's p95 counts for each of its requests: org_l's buckets hold 10 requests
    # at 100 ms and 10 at 900 ms, p95 900 ms; with org_a's errors, 1,375 of the hour's requests
    # count 900 ms, the rest 100 ms; the baseline 100 ms
    assert f["platform_p95_ms_base"] == pytest.approx(100)
    assert f["platform_p95_ratio_1h"] == pytest.approx((8220 * 100 + 1375 * 900) / 9595 / 100)
    assert f["platform_anomalous_latency_1h"] is True
    e = row(con, "features.fct_ticket_features", 105)
    assert e["org_vs_platform_4xx_24h"] == pytest.approx((1080 / 15480) / (1080 / 178_495))


def test_customer_with_no_traffic(con):
    f = row(con, "features.fct_ticket_features", 107)
    assert f["org_no_traffic"] is True
    assert f["org_requests_1h"] == 0 and f["org_requests_base"] == 0
    assert f["org_rate_5xx_1h"] is None and f["org_p95_ms_1h"] is None
    assert not f["org_anomalous_errors_or_latency"]
    assert f["onset_at"] is None and f["has_deploy_candidate"] is False
    assert f["peak_rpm_24h"] is None and f["failing_keys_24h"] == 0


def test_platform_share_of_other_anomalous_customers(con):
    f = row(con, "features.fct_ticket_features", 108)
    # at T1 every org but org_g has traffic: 11 others; org_i, j, k, m have 5 x 503/min
    assert f["other_active_orgs_1h"] == 11
    assert f["other_anomalous_orgs_1h"] == 4
    assert f["other_anomalous_share_1h"] == pytest.approx(4 / 11)
    # at T0 for org_a: the others anomalous are org_e (401s) and org_l (latency)
    g = row(con, "features.fct_ticket_features", 101)
    assert g["other_anomalous_orgs_1h"] == 2 and g["other_active_orgs_1h"] == 11


def test_how_many_other_customers_hit_the_same_error_key(con):
    # at T1 org_h's 503 unavailable on /v1/core is shared by the four other incident orgs, of
    # the eight other customers calling /v1/core (every svc_core org but org_h and org_g)
    f = row(con, "features.fct_ticket_features", 108)
    assert f["top_error_other_orgs_24h"] == 4 and f["top_error_other_orgs_3h"] == 4
    assert f["top_error_endpoint_other_callers_24h"] == 8
    assert f["top_error_other_share_24h"] == pytest.approx(4 / 8)
    assert f["top_error_other_share_3h"] == pytest.approx(4 / 8)
    # org_e's 401s are its own: nobody else calls its endpoint, so no share either
    e = row(con, "features.fct_ticket_features", 105)
    assert e["top_error_other_orgs_24h"] == 0 and e["top_error_other_share_24h"] is None
    # org_b's long-running export errors are its own too; they are no more than its baseline
    # in the last 3h, so there is no 3h key to count
    assert con.execute("SELECT window_hours, other_orgs FROM logs.ticket_key_spread "
                       "WHERE ticket_id = 102 ORDER BY ALL").fetchall() == [(24, 0)]


def test_an_error_few_others_get_on_a_busy_endpoint():
    """A day before T0, org_f gets 400 bad_filter on /v1/core, which eight other customers call
    (every svc_core org but org_f and org_g). org_d got it too, 5h before; org_c gets it from
    the ticket's own minute on, which the ticket cannot know."""
    con = duckdb.connect()
    build_scenario(con)
    at = T0 - timedelta(days=1)
    for org, start, end in (("org_f", at - 2 * H, at + H), ("org_d", at - 5 * H, at - 4 * H),
                            ("org_c", at, at + H)):
        insert_traffic(con, org, start, end, service="svc_core", endpoint="/v1/core",
                       status=400, requests=3, error_code="bad_filter")
    insert(con, "staging.stg_zendesk__tickets",
           [ticket(120, 6, at, "Filters rejected", "bad_filter")])
    investigate(con)
    f = row(con, "features.fct_ticket_features", 120)
    assert f["top_error_code"] == "bad_filter"
    assert f["top_error_other_orgs_24h"] == 1 and f["top_error_other_orgs_3h"] == 0
    assert f["top_error_endpoint_other_callers_24h"] == 8
    assert f["top_error_other_share_24h"] == pytest.approx(1 / 8)
    assert f["top_error_other_share_3h"] == 0.0
    summaries = [r[0] for r in con.execute(
        "SELECT summary FROM heuristics.evidence WHERE ticket_id = 120").fetchall()]
    assert "1 of the 8 other customers calling /v1/core got 4xx bad_filter on it in the same " \
           "24h" in summaries
    # a ticket without errors has no key, so nobody to compare with: NULL, not 0
    g = row(con, "features.fct_ticket_features", 109)  # org_l: slow, no errors
    assert g["top_error_other_orgs_24h"] is None and g["top_error_other_orgs_3h"] is None
    con.close()


def test_the_callers_of_an_endpoint_are_those_of_its_24h_to_the_minute():
    """Who counts as another caller of the key's endpoint, at the window's two cut hours: a
    customer whose only request in the 24h is an error counts from the window's first minute
    (t - 24h) to the ticket's (t), one who only called without an error counts in the whole
    hours of the 24h only. The ticket is at :30, so both ends cut an hour."""
    con = duckdb.connect()
    build_scenario(con)
    at = T0 - timedelta(days=1) + 30 * M
    edge = dict(service="svc_edge", endpoint="/v1/edge")
    insert_traffic(con, "org_f", at - 2 * H, at + H, status=400, requests=3,
                   error_code="edge_code", **edge)
    for org, start, status in (
        ("org_x1", at - 24 * H + 10 * M, 400),  # in the 24h, in its first (cut) hour
        ("org_x2", at - 24 * H - 10 * M, 400),  # before the 24h
        ("org_x3", at - 20 * M, 400),           # in the 24h, in its last (cut) hour
        ("org_x4", at + 5 * M, 400),            # after the ticket
        ("org_x5", at - 24 * H + 10 * M, 200),  # a call in the first cut hour: not a whole one
        ("org_x6", at - 5 * H, 200),            # a call in a whole hour of the 24h
    ):
        insert_traffic(con, org, start, start + M, status=status, requests=1,
                       error_code="edge_code" if status == 400 else None, **edge)
    insert(con, "staging.stg_zendesk__tickets",
           [ticket(121, 6, at, "Edge requests rejected", "edge_code")])
    investigate(con)
    f = row(con, "features.fct_ticket_features", 121)
    assert f["top_error_code"] == "edge_code"
    assert f["top_error_endpoint_other_callers_24h"] == 3  # org_x1, org_x3, org_x6
    assert f["top_error_other_orgs_24h"] == 2 and f["top_error_other_orgs_3h"] == 1
    con.close()


def test_top_error_key_and_onset(con):
    f = row(con, "features.fct_ticket_features", 101)
    assert (f["top_error_service"], f["top_error_endpoint"], f["top_error_code"],
            f["top_error_status"]) == ("svc_pay", "/v1/pay", "internal_error", 500)
    assert f["top_errors_24h"] == 175
    assert f["failing_services_24h"] == ["svc_pay"]
    # the last 3h hold all 175 errors; baseline 0 errors of 101,000 requests on /v1/pay:
    # base rate (0 + 0.5) / (100,800 + 1), expected = 1,975 requests x that
    assert f["top_errors_3h"] == 175 and f["top_error_new_3h"] is True
    assert f["top_error_excess_3h"] == pytest.approx(175 - 1975 * 0.5 / 100_801)
    assert f["top_error_status_class_3h"] == "5xx" and f["failing_keys_3h"] == 1
    # org_b's long-running bug: its errors are as usual (no excess), but still hit in the 3h
    b = row(con, "features.fct_ticket_features", 102)
    assert b["top_error_excess_3h"] is None and b["failing_keys_3h"] == 0
    assert b["linear_top_matched_keys"] == 1 and b["linear_top_key_errors_3h"] == 180
    assert f["error_onset_at"] == T0 - 35 * M
    assert f["onset_at"] == T0 - 35 * M
    assert f["minutes_onset_to_investigation"] == 35
    # the change point's excess: 35 minutes of 5 errors in 15 requests, against the baseline
    # rate of 4xx + 5xx
    base = p0(0, 100_800, 0) + p0(0, 100_800, PLATFORM_BASE_RATE_5XX)
    onset = row(con, "features.ticket_onset", 101)
    assert onset["error_onset_excess"] == pytest.approx(35 * (5 - 15 * base))
    slow = row(con, "features.fct_ticket_features", 109)  # latency only
    assert slow["error_onset_at"] is None and slow["latency_onset_at"] == T0 - 60 * M


def test_deploy_before_onset_serving_the_failing_service(con):
    d = row(con, "features.ticket_deploys", 101)
    # 501 (svc_pay) went live at T0-40m (its first success status); 499 (svc_core, T0-38m) is
    # later but does not serve the failing requests; 498 is staging
    assert d["deployment_id"] == 501 and d["deploy_service"] == "svc_pay"
    assert d["deployed_at"] == T0 - 40 * M
    assert d["minutes_deploy_to_onset"] == 5
    assert d["serves_failing_endpoints"] is True
    # svc_pay platform-wide: 6h before = 360 x 10 requests, no errors; after (cut at T0):
    # 400 ok + 175 errors
    assert d["service_requests_before"] == 3600 and d["service_error_rate_before"] == 0
    assert d["service_requests_after"] == 575
    assert d["service_error_rate_after"] == pytest.approx(175 / 575)
    eps = 176 / 4176
    assert d["error_step_ratio"] == pytest.approx((175 / 575 + eps) / eps)
    assert d["later_deploy_of_service"] is False
    assert d["deploy_repo"] == "acme/api"
    # p95: 100 ms before; after, 400 requests at 100 ms and the 175 errors at 900 ms
    assert d["service_p95_ms_before"] == pytest.approx(100)
    p95_after = (400 * 100 + 175 * 900) / 575
    assert d["service_p95_ms_after"] == pytest.approx(p95_after)
    assert d["latency_step_ratio"] == pytest.approx(p95_after / 100)
    assert d["step_change_score"] == pytest.approx(d["error_step_ratio"])  # the larger


def test_error_keys_against_their_own_baseline(con):
    k = row(con, "features.ticket_endpoint_excess", 101, excess_rank=1)
    # /v1/pay in the 24h: 14,400 ok + 175 errors; in the 3h: 1,800 + 175; baseline week
    # (7 whole days before the day of T0-24h): 100,800 ok, no error
    assert (k["service"], k["endpoint"], k["status_class"], k["error_code"], k["status"]) == \
        ("svc_pay", "/v1/pay", "5xx", "internal_error", 500)
    assert (k["errors_24h"], k["endpoint_requests_24h"], k["errors_3h"],
            k["endpoint_requests_3h"], k["errors_base"], k["endpoint_requests_base"]) == \
        (175, 14_575, 175, 1_975, 0, 100_800)
    assert k["base_rate"] == pytest.approx(0.5 / 100_801)
    assert k["excess"] == pytest.approx(175 - 14_575 * 0.5 / 100_801)
    assert k["first_minute"] == T0 - 35 * M
    # org_b's known bug: 1 x 500/min on top of 10 ok/min, as in its baseline week
    b = row(con, "features.ticket_endpoint_excess", 102, excess_rank=1)
    assert (b["errors_24h"], b["endpoint_requests_24h"], b["errors_base"],
            b["endpoint_requests_base"]) == (1_440, 15_840, 10_080, 110_880)
    assert b["excess"] == pytest.approx(1_440 - 15_840 * 10_080.5 / 110_881)
    assert b["first_minute"] == T0 - 24 * 60 * M


def test_last_deploy_of_the_failing_service(con):
    # org_a's errors are on svc_pay: 501 went live at T0-40m (its first success status; 498 is
    # staging), 500 at T0-3d, outside the 24h counted
    a = row(con, "features.ticket_service_deploys", 101)
    assert a["failing_service"] == "svc_pay"
    assert a["minutes_since_service_deploy"] == 40 and a["service_deploys_24h"] == 1
    # the incident at T1 is on svc_core, last deployed (499) at T0-38m: two days before
    i = row(con, "features.ticket_service_deploys", 108)
    assert i["failing_service"] == "svc_core"
    assert i["minutes_since_service_deploy"] == 2 * 24 * 60 + 38
    assert i["service_deploys_24h"] == 0
    # a ticket whose customer has no errors has no service to look at
    f = row(con, "features.fct_ticket_features", 106)
    assert f["minutes_since_service_deploy"] is None and f["service_deploys_24h"] == 0
    # before any deploy was live
    old = row(con, "features.fct_ticket_features", 110)
    assert old["minutes_since_service_deploy"] is None and old["service_deploys_24h"] == 0


def test_ticket_before_any_deploy(con):
    f = row(con, "features.fct_ticket_features", 110)
    assert f["has_deploy_candidate"] is False and f["deployment_id"] is None


def test_rate_limit_against_plan(con):
    r = row(con, "features.ticket_rate_limit", 103)
    assert r["rate_limit_per_minute"] == 20 and r["plan_name"] == "Small"
    assert r["peak_rpm_1h"] == 30 and r["peak_vs_limit_1h"] == pytest.approx(1.5)
    assert r["n_429_1h"] == 600 and r["n_429_24h"] == 1200
    assert r["share_minutes_at_limit_1h"] == 1.0
    assert r["share_minutes_at_limit_24h"] == pytest.approx(120 / 1440)
    assert r["share_429_minutes_at_limit_24h"] == 1.0
    assert r["minutes_with_429_24h"] == 120
    # 30 requests/min every minute of the last 2h: the busiest minute is the latest of them
    assert r["peak_minute_24h"] == T0 - M and r["peak_vs_limit_24h"] == pytest.approx(1.5)
    assert r["active_minutes_1h"] == 60


def test_billing_state_as_of_the_ticket(con):
    b = row(con, "features.ticket_billing", 104)
    assert b["subscription_status"] == "past_due"
    assert b["days_in_subscription_status"] == pytest.approx(2.0)
    # in_d1 is paid today (T0+2h) but was unpaid and 3 days past due at T0
    assert b["unpaid_invoices"] == 1 and b["past_due_invoices"] == 1
    assert b["worst_invoice_id"] == "in_d1" and b["max_days_past_due"] == pytest.approx(3.0)
    assert b["failed_charges_30d"] == 1 and b["last_failed_charge_id"] == "ch_d1"
    assert (b["last_failure_code"], b["last_decline_reason"]) == ("card_declined",
                                                                  "insufficient_funds")
    assert b["days_since_failed_charge"] == pytest.approx(3.0)
    assert b["succeeded_after_last_failure"] is False  # ch_d2 succeeded only after T0
    f = row(con, "features.ticket_billing", 106)  # paid on time
    assert f["subscription_status"] == "active" and f["unpaid_invoices"] == 0


def test_org_missing_from_stripe(con):
    b = row(con, "features.fct_ticket_features", 105)
    assert b["has_stripe_customer"] is False
    assert b["subscription_status"] is None and b["rate_limit_per_minute"] is None
    assert b["unpaid_invoices"] == 0 and b["failed_charges_30d"] == 0


def test_linear_matches_ranked_open_and_fixed(con):
    rows = con.execute(
        "SELECT identifier, match_rank, match_score, is_open_at_t, shared_error_codes, "
        "shared_endpoints, text_jaccard, key_errors_3h, key_share_3h "
        "FROM features.ticket_linear_matches WHERE ticket_id = 102 ORDER BY match_rank"
    ).fetchall()
    # org_b hit 500 export_failed on /v1/exports once a minute for the 3h before the ticket
    # (180 errors, all of its errors): BUG-1 and BUG-5 name that code and that endpoint (key
    # match). BUG-1: key + code + endpoint + Jaccard {exports, export_failed} / {exports,
    # failing, export_failed, fail} = 0.5 -> 0.5 + 0.15 + 0.15 + 0.2 = 1.0
    # BUG-5: same text, completed 2 days before the ticket -> halved, not open
    # BUG-2: endpoint only, no key, Jaccard 1/5 -> 0.15 + 0.2 x 0.4 = 0.23
    # BUG-3 completed 20 days before (not recent), BUG-7 shares nothing: absent
    assert rows == [
        ("BUG-1", 1, pytest.approx(1.0), True, ["export_failed"], ["/v1/exports"], 0.5, 180, 1.0),
        ("BUG-5", 2, pytest.approx(0.5), False, ["export_failed"], ["/v1/exports"], 0.5, 180,
         1.0),
        ("BUG-2", 3, pytest.approx(0.23), True, [], ["/v1/exports"], pytest.approx(0.2), 0, 0),
    ]


def test_text_signals_use_the_data_vocabulary(con):
    t = row(con, "features.ticket_text", 105)
    # "/v1/things/123" is under the logged template /v1/things/{id}; invalid_api_key is logged
    assert t["text_endpoints"] == ["/v1/things/{id}"]
    assert t["text_error_codes"] == ["invalid_api_key"]
    assert row(con, "features.ticket_text", 103)["text_http_statuses"] == ["429"]
    h = row(con, "features.ticket_text", 106)
    assert h["text_has_question"] is True and h["text_data_terms"] == 0
    assert h["text_http_statuses"] == []  # "100 items" is not an error status


def test_text_names_services_and_codes_seen_before_the_ticket():
    live = duckdb.connect()
    build_scenario(live)
    insert(live, "staging.stg_zendesk__tickets", [ticket(
        111, 6, T0, "Outage?", "svc_pay and SVC_CORE fail with internal_error or unavailable")])
    investigate(live, ticket_ids=[111], as_of=T0)
    t = row(live, "features.ticket_text", 111)
    # svc_core and svc_pay carry traffic for days; internal_error from T0-35m; unavailable only
    # from T1-1h, after the ticket
    assert t["text_services"] == ["svc_core", "svc_pay"]
    assert t["text_error_codes"] == ["internal_error"]
    assert t["text_endpoints"] == [] and t["text_data_terms"] == 1
    live.close()


def test_history_counts_prior_tickets_and_resolved_causes(con):
    h = row(con, "features.ticket_history", 101)
    # ticket 110 (org_a, 8 days earlier) was solved as how_to two hours after it opened
    assert h["tickets_prior_7d"] == 0 and h["tickets_prior_30d"] == 1
    assert h["last_prior_cause"] == "how_to" and h["prior_causes_30d"] == ["how_to"]
    first = row(con, "features.ticket_history", 110)
    assert first["tickets_prior_30d"] == 0 and first["last_prior_cause"] is None


def test_live_path_investigates_a_subset_later(con):
    live = duckdb.connect()
    build_scenario(live)
    rows = investigate(live, ticket_ids=[101, 108], as_of=T0 + 30 * M)
    assert rows["features.fct_ticket_features"] == 1  # 108 is created after as_of
    f = row(live, "features.fct_ticket_features", 101)
    assert f["investigated_at"] == T0 + 30 * M
    # the errors went on: 1h window now holds 60 minutes of 5 x 500 (the last 25 are T0..)
    assert f["org_requests_1h"] == 600 + 5 * 60
    live.close()
    assert T1 > T0


def test_service_onset_and_the_deploy_just_before_it(con):
    s = row(con, "features.ticket_service_onset", 101)
    # svc_pay carries org_a's errors; all its traffic is org_a's: no errors in the baseline
    # week (10,080 minutes x 10 requests), 175 errors of 775 requests in the last hour
    assert s["onset_service"] == "svc_pay"
    assert s["onset_service_base_error_rate"] == pytest.approx(1 / 100_801)
    assert s["onset_service_error_rate_1h"] == pytest.approx(176 / 776)
    assert s["service_onset_at"] == T0 - 35 * M
    # deploy 501 of svc_pay went live at T0-40m: 5 minutes before the service changed
    assert s["minutes_deploy_to_service_onset"] == 5
    # the incident at T1: svc_core changed at T1-1h for every affected customer; its last
    # deploy (499, T0-38m) is two days older than that: outside the 24h looked at
    i = row(con, "features.ticket_service_onset", 108)
    assert i["onset_service"] == "svc_core" and i["service_onset_at"] == T1 - 60 * M
    assert i["minutes_deploy_to_service_onset"] is None
    assert i["onset_service_error_ratio"] > 10
    # svc_core in the hour before T1: 9 customers at 600 ok, org_h..m's 5 x 503/min on top;
    # its baseline (168 whole hours before T1-24h's hour) holds the 9 x 10/min and org_c's and
    # org_l's extra traffic around T0 (3,600 and 1,200 requests), no error
    p0_core = 1 / (9 * 10 * 10_080 + 3_600 + 1_200 + 1)
    assert i["onset_service_base_error_rate"] == pytest.approx(p0_core)
    assert i["onset_service_error_rate_1h"] == pytest.approx(1_501 / 6_901)
    # the other customers: org_c, d, f, l and the four other incident orgs
    assert (i["onset_service_other_orgs_1h"], i["onset_service_other_orgs_with_errors_1h"],
            i["onset_service_other_requests_1h"], i["onset_service_other_errors_1h"]) == \
        (8, 4, 6_000, 1_200)
    assert i["onset_service_other_error_ratio"] == pytest.approx((1_201 / 6_001) / p0_core)
    # org_b's long-running bug: its errors are as usual, so no service to look at
    assert con.execute("SELECT count(*) FROM features.ticket_service_onset "
                       "WHERE ticket_id = 102").fetchall()[0][0] == 0
