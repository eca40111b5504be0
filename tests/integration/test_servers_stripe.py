"""The Stripe demo server: the official library pages through it; events derive from versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import stripe

from altor_sim.servers import start_servers
from altor_sim.world.reader import World, parse_time
from tests.fixtures.tiny_world import build_tiny_world

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "vendor-contracts" / "stripe"
KINDS = ("customers", "products", "prices", "subscriptions", "invoices", "charges")


def _append(path: Path, at: str, obj: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps({"at": at, "object": obj}) + "\n")


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    """The tiny world plus four customers (two sharing a `created`) and a canceled subscription."""
    root = build_tiny_world(tmp_path_factory.mktemp("tiny"))
    s = root / "stripe"
    for n, at in ((3, "2026-03-01T00:00:00Z"), (4, "2026-03-01T00:00:00Z"),
                  (5, "2026-06-01T09:00:00Z"), (6, "2026-06-02T09:00:00Z")):
        _append(s / "customers.jsonl", at, {"id": f"cus_{n}", "object": "customer",
                                            "created": int(parse_time(at)), "delinquent": False,
                                            "email": f"b@org{n}.test",
                                            "metadata": {"org_id": f"org_{n}"}})
    sub1 = json.loads((s / "subscriptions.jsonl").read_text().splitlines()[0])["object"]
    _append(s / "subscriptions.jsonl", "2026-06-02T10:00:00Z",
            {**sub1, "status": "canceled", "canceled_at": int(parse_time("2026-06-02T10:00:00Z"))})
    return root


@pytest.fixture()
def client(servers):
    stripe.enable_telemetry = False
    yield stripe.StripeClient(servers.tokens["stripe"],
                              base_addresses={"api": servers.urls["stripe"]},
                              max_network_retries=0)
    servers.set_as_of(servers.world.end)


def get(servers, path, key=None, **params):
    key = servers.tokens["stripe"] if key is None else key
    return requests.get(servers.urls["stripe"] + path, params=params,
                        headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=10)


def expected_ids(servers, kind):
    world = World.load(servers.world.root)
    return {oid for oid, _ in world.collection("stripe", kind).visible(servers.now)}


def test_official_library_pages_customers_newest_first(servers, client):
    ids = [c.id for c in client.v1.customers.list({"limit": 2}).auto_paging_iter()]
    # created desc; cus_3 and cus_4 share `created`: ties by id, descending
    assert ids == ["cus_6", "cus_5", "cus_4", "cus_3", "cus_2", "cus_1"]
    first = client.v1.customers.list({"limit": 2})
    assert first.has_more is True and first.url == "/v1/customers"


def test_official_library_filters_by_created(servers, client):
    gte = int(parse_time("2026-03-01T00:00:00Z"))
    lt = int(parse_time("2026-06-02T00:00:00Z"))
    ids = [c.id for c in client.v1.customers.list(
        {"limit": 2, "created": {"gte": gte, "lt": lt}}).auto_paging_iter()]
    assert ids == ["cus_5", "cus_4", "cus_3"]
    exact = client.v1.customers.list({"created": gte})
    assert [c.id for c in exact.data] == ["cus_4", "cus_3"]


def test_official_library_pages_events(servers, client):
    events = list(client.v1.events.list({"limit": 2}).auto_paging_iter())
    one_page = get(servers, "/v1/events", limit=100).json()["data"]
    assert [e.id for e in events] == [e["id"] for e in one_page]
    assert len({e.id for e in events}) == len(events) > 10
    failed = list(client.v1.events.list({"type": "invoice.payment_failed"}).auto_paging_iter())
    assert [e.data.object.id for e in failed] == ["in_2"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_list_with_limit_2_walks_each_object_once(servers, kind):
    params = {"status": "all"} if kind == "subscriptions" else {}
    seen, after = [], None
    while True:
        body = get(servers, f"/v1/{kind}", limit=2, starting_after=after, **params).json()
        seen += [o["id"] for o in body["data"]]
        if not body["has_more"]:
            break
        after = body["data"][-1]["id"]
    assert len(seen) == len(set(seen))
    assert set(seen) == expected_ids(servers, kind)
    assert set(body) == set(json.loads(
        (CONTRACT / "list_envelope.subscription_items.fixture.json").read_text()))


def test_ending_before_pages_backwards(servers):
    body = get(servers, "/v1/customers", limit=2, ending_before="cus_2").json()
    assert [c["id"] for c in body["data"]] == ["cus_4", "cus_3"] and body["has_more"] is True


def test_canceled_subscriptions_are_hidden_unless_asked_for(servers):
    def ids(**params):
        return [s["id"] for s in get(servers, "/v1/subscriptions", **params).json()["data"]]

    assert ids() == ["sub_2"]
    assert ids(status="all") == ["sub_2", "sub_1"]
    assert ids(status="canceled") == ["sub_1"]
    assert ids(status="past_due", customer="cus_2") == ["sub_2"]
    assert ids(price="price_scale", status="all") == ["sub_1"]
    deleted = get(servers, "/v1/events", type="customer.subscription.deleted").json()["data"]
    assert [e["data"]["object"]["id"] for e in deleted] == ["sub_1"]


def test_clock_hides_the_future_and_events_appear_when_it_moves(servers, client):
    servers.set_as_of("2026-06-01T11:15:00Z")
    assert get(servers, "/v1/charges").json()["data"] == []
    assert get(servers, "/v1/charges/ch_2").status_code == 404
    cus2 = get(servers, "/v1/customers/cus_2").json()
    assert cus2["delinquent"] is False  # the update at 11:30 is not applied yet
    types = [e["type"] for e in get(servers, "/v1/events", limit=100,
                                    **{"created[gte]": int(parse_time("2026-06-01T00:00:00Z"))}
                                    ).json()["data"]]
    assert sorted(types) == ["customer.created",  # cus_5 at 09:00
                             "invoice.created", "invoice.finalized", "invoice.payment_failed"]
    servers.set_as_of("2026-06-01T11:30:00Z")
    new = get(servers, "/v1/events", limit=100,
              **{"created[gt]": int(parse_time("2026-06-01T11:15:00Z"))}).json()["data"]
    by_type = {e["type"]: e for e in new}
    assert set(by_type) == {"charge.failed", "customer.updated", "customer.subscription.updated"}
    assert by_type["customer.updated"]["data"]["previous_attributes"] == {"delinquent": False}
    sub = by_type["customer.subscription.updated"]["data"]
    assert sub["previous_attributes"] == {"status": "active"}
    assert sub["object"]["status"] == "past_due"
    assert by_type["charge.failed"]["created"] == int(parse_time("2026-06-01T11:30:00Z"))
    event_keys = set(json.loads((CONTRACT / "event.fixture.json").read_text()))
    assert set(by_type["charge.failed"]) == event_keys
    # deterministic ids: a second server over the same world derives the same events
    with start_servers(servers.world.root, as_of="2026-06-01T11:30:00Z") as again:
        assert [e["id"] for e in get(again, "/v1/events", limit=100).json()["data"]] == \
            [e["id"] for e in get(servers, "/v1/events", limit=100).json()["data"]]


def test_events_filter_by_types_array(servers):
    body = get(servers, "/v1/events", **{"types[]": ["charge.failed", "invoice.created"]}).json()
    assert sorted(e["type"] for e in body["data"]) == ["charge.failed", "invoice.created"]
    wildcard = get(servers, "/v1/events", type="invoice.*", limit=100).json()["data"]
    assert {e["type"] for e in wildcard} == {"invoice.created", "invoice.finalized",
                                             "invoice.payment_failed"}


def test_bad_parameters_are_answered_like_stripe(servers):
    for value, message in (("0", "greater than or equal to 1"), ("101", "less than or equal"),
                           ("abc", "Invalid integer")):
        r = get(servers, "/v1/customers", limit=value)
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["param"] == "limit" and err["type"] == "invalid_request_error"
        assert message in err["message"]
    r = get(servers, "/v1/customers", colour="blue")
    assert r.status_code == 400 and r.json()["error"]["param"] == "colour"
    r = get(servers, "/v1/customers", starting_after="cus_nope")
    assert r.status_code == 400 and r.json()["error"]["code"] == "resource_missing"
    r = get(servers, "/v1/customers/cus_nope")
    assert r.status_code == 404 and r.json()["error"]["message"] == "No such customer: 'cus_nope'"
    r = get(servers, "/v1/unicorns")
    assert r.status_code == 404 and "Unrecognized request URL" in r.json()["error"]["message"]


def test_auth_is_enforced_with_stripe_bodies(servers, client):
    r = get(servers, "/v1/customers", key="sk_test_wrong_key_1234")
    assert r.status_code == 401
    assert r.json() == {"error": {"message": "Invalid API Key provided: sk_test_**********1234",
                                  "type": "invalid_request_error"}}
    r = get(servers, "/v1/customers", key="")
    assert r.status_code == 401 and "did not provide an API key" in r.json()["error"]["message"]
    basic = requests.get(servers.urls["stripe"] + "/v1/customers",
                         auth=(servers.tokens["stripe"], ""), timeout=10)
    assert basic.ok
    bad = stripe.StripeClient("sk_test_nope", base_addresses={"api": servers.urls["stripe"]})
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.customers.list()


def test_injected_failure_is_a_stripe_api_error(servers, client):
    servers.fail_next("stripe", "/v1/customers", status=500)
    with pytest.raises(stripe.APIError):
        client.v1.customers.list()
    assert client.v1.customers.list({"limit": 1}).data[0].id == "cus_6"
