"""Delivery's pure functions: redaction, the playbook's learned templates and slot filling,
the note's rendering, fingerprints and tags."""

from __future__ import annotations

import re

from altor_pipelines.delivery.note import Diagnosis, describe_changes, render_note
from altor_pipelines.delivery.playbook import learn_template, render_template, slot_fills
from altor_pipelines.delivery.redact import luhn_ok, redact
from altor_pipelines.delivery.writeback_plan import (
    ALL_TAGS,
    WritebackConfig,
    build_request,
    fingerprint,
    tags_for,
)
from altor_pipelines.settings import Secret


def test_luhn():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


# A made-up live-key shape, assembled so that no secret-looking literal sits in the repository.
FAKE_LIVE_KEY = "sk_" + "live_" + "abcDEF123456"


def test_redact_masks_emails_cards_and_secrets_but_keeps_ids():
    text = (
        "mail ops@acme.io, card 4111-1111-1111-1111, order 1234567890123 "
        f"key {FAKE_LIVE_KEY} token=s3cr3tvalue sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b "
        "invoice in_1MtHbELkdIwHu7ixl4OzzPMv ENG-482"
    )
    out = redact(text, [Secret("hunter2-pass")])
    assert "ops@acme.io" not in out and "[email]" in out
    assert "[card ••••1111]" in out and "1234567890123" in out  # not Luhn-valid: kept
    assert FAKE_LIVE_KEY not in out and "token=[secret]" in out
    assert "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b" in out  # hex ids stay
    assert "in_1MtHbELkdIwHu7ixl4OzzPMv" in out and "ENG-482" in out
    assert redact("pw hunter2-pass", [Secret("hunter2-pass")]) == "pw [secret]"


REPLIES = [
    (1, "Hi Ann, this is a known issue our engineers are fixing (ENG-11). We'll update you."),
    (2, "This is a known issue our engineers are fixing (ENG-12). We'll update you soon."),
    (3, "This is a known issue our engineers are fixing (ENG-13). We'll update you."),
    (4, "Hello Bob, this is a known issue (ENG-11), fixed on 2026-05-02. We'll update you."),
]
KNOWN = {"ENG-11": "linear", "ENG-12": "linear", "ENG-13": "linear"}


def test_template_is_the_central_reply_with_ids_as_slots():
    t = learn_template("known_bug", REPLIES, KNOWN)
    assert t is not None and t.support == 4
    assert t.pattern() == (
        "This is a known issue our engineers are fixing (⟨linear⟩). We'll update you."
    )


def test_rendering_fills_slots_and_drops_sentences_it_cannot_fill():
    t = learn_template("known_bug", REPLIES, KNOWN)
    assert render_template(t, {"linear": "ENG-99, currently In Progress"}) == (
        "This is a known issue our engineers are fixing (ENG-99, currently In Progress). "
        "We'll update you."
    )
    assert render_template(t, {}) == "We'll update you."
    names = learn_template(
        "how_to",
        [(1, "Hi Ann, see the docs."), (2, "Hi Bob, see the docs."), (3, "Hi Cid, see the docs.")],
        {},
    )
    assert render_template(names, {}) is None  # a name is ticket-specific: never copied


def test_too_few_replies_learn_nothing():
    assert learn_template("novel", REPLIES[:2], KNOWN) is None


def test_slot_fills_use_the_strongest_evidence_and_its_facts():
    ev = [
        {"source": "linear", "object_id": "ENG-5", "rule_score": 0.5},
        {"source": "linear", "object_id": "ENG-7", "rule_score": 0.9},
        {"source": "clickhouse", "object_id": "org_1", "rule_score": 0.9},
        {"source": "stripe_subscription", "object_id": "sub_1", "rule_score": 0.7},
    ]
    details = {
        ("linear", "ENG-7"): {"state": "In Progress"},
        ("stripe_subscription", "sub_1"): {"title": "Starter", "amount": "60"},
    }
    assert slot_fills(ev, details) == {
        "linear": "ENG-7, currently In Progress",
        "stripe_subscription": "plan Starter, limit 60 requests per minute",
    }


def _diag(**kw):
    base = dict(
        ticket_id=1,
        model_version="v1",
        cause="plan_limit",
        top_cause="plan_limit",
        top_probability=0.91,
        confidence_band="high",
        escalate=False,
        abstained=False,
        action="reply",
    )
    return Diagnosis(**{**base, **kw})


EVIDENCE = [
    {
        "cause": "plan_limit",
        "rule_score": 0.9,
        "source": "clickhouse",
        "object_id": "org_1",
        "summary": "412 requests rejected with 429 at 60/min, 38% of traffic",
        "link": None,
        "reproducing_query": "SELECT count() FROM {database:Identifier}.requests "
        "WHERE org_id = {org_id:String}",
        "query_parameters": '{"database": "altor", "org_id": "org_1"}',
    },
    {
        "cause": "plan_limit",
        "rule_score": 0.8,
        "source": "stripe_subscription",
        "object_id": "sub_1",
        "summary": "plan Starter: 60 requests/minute",
        "link": "https://dashboard.stripe.com/subscriptions/sub_1",
        "reproducing_query": "GET /v1/subscriptions/sub_1",
        "query_parameters": None,
    },
    {
        "cause": "known_bug",
        "rule_score": 0.99,
        "source": "linear",
        "object_id": "ENG-1",
        "summary": "other cause",
        "link": None,
        "reproducing_query": None,
        "query_parameters": None,
    },
]


def test_note_has_cause_confidence_evidence_reply_and_folded_queries():
    note = render_note(
        _diag(), EVIDENCE, "Your traffic exceeded the limit (plan Starter).", "abc123"
    )
    body, html = note.body, note.html_body
    assert body.startswith("Altor diagnosis: Plan limit reached")
    assert "Confidence: high (91%). Escalate: no. Model v1." in body
    assert "- 412 requests rejected with 429 at 60/min, 38% of traffic" in body
    assert "https://dashboard.stripe.com/subscriptions/sub_1" in body and "other cause" not in body
    assert "Recommended reply:\nYour traffic exceeded the limit (plan Starter)." in body
    assert body.index("Recommended reply") < body.index("Reproducing queries")
    assert '--param_org_id="org_1"' in body and body.rstrip().endswith("altor-diagnosis:abc123")
    assert re.search(r"<details><summary>Reproducing queries \(2\)</summary>.*</details>", html)
    assert note.evidence_ids == ["clickhouse:org_1", "stripe_subscription:sub_1"]


def test_abstaining_note_names_the_hypothesis_and_has_no_reply():
    note = render_note(
        _diag(
            cause=None, abstained=True, confidence_band="medium", escalate=True, top_probability=0.6
        ),
        EVIDENCE,
        None,
        "f",
    )
    assert "no confident diagnosis" in note.body and "Escalate: yes" in note.body
    assert "none learned" in note.body


def test_fingerprint_changes_with_what_an_agent_acts_on_only():
    d = _diag()
    assert fingerprint(d, ["a", "b"]) == fingerprint(d, ["b", "a"])
    assert fingerprint(d, ["a"]) != fingerprint(_diag(confidence_band="medium"), ["a"])
    assert fingerprint(d, ["a"]) != fingerprint(_diag(model_version="v2"), ["a"])


def test_tags_and_request():
    d = _diag(cause="misrouted", action="reroute")
    req = build_request(
        d, "b", "<p>b</p>", WritebackConfig(field_ids={"cause": 5}), (7, "Billing", 3)
    )
    t = req["ticket"]
    assert (
        t["additional_tags"]
        == tags_for(d)
        == ["altor_cause_misrouted", "altor_confidence_high", "altor_no_escalate"]
    )
    assert set(t["remove_tags"]) == set(ALL_TAGS) - set(tags_for(d))
    assert t["comment"]["public"] is False and t["group_id"] == 7
    assert t["custom_fields"] == [{"id": 5, "value": "misrouted"}]


def test_changes_are_described():
    old = {
        "cause": None,
        "confidence_band": "medium",
        "escalate": True,
        "evidence_ids": ["x:1"],
        "model_version": "v1",
    }
    new = {
        "cause": "known_bug",
        "confidence_band": "high",
        "escalate": False,
        "evidence_ids": ["x:1", "linear:ENG-2"],
        "model_version": "v1",
    }
    assert describe_changes(old, new) == [
        "cause none -> Known bug",
        "confidence medium -> high",
        "escalate yes -> no",
        "new evidence linear:ENG-2",
    ]


def test_dagster_definitions_of_delivery_load():
    import dagster as dg

    from altor_pipelines.defs.delivery import delivery_definitions
    from altor_pipelines.defs.resources import AltorResource

    parts = delivery_definitions([dg.AssetKey(["diagnosis", "diagnoses"])])
    defs = dg.Definitions(**parts, resources={"altor": AltorResource()})
    dg.Definitions.validate_loadable(defs)
    [asset] = parts["assets"]
    assert asset.key == dg.AssetKey(["delivery", "helpdesk_writeback"])
    assert asset.specs_by_key[asset.key].group_name == "delivery"
    assert [s.name for s in parts["sensors"]] == ["live_ticket_sensor"]
    assert [j.name for j in parts["jobs"]] == ["live_ticket_job"]


def test_sources_due_follow_their_marks_the_maximum_age_and_failed_probes(monkeypatch):
    import dataclasses
    from datetime import UTC, datetime, timedelta

    import duckdb

    from altor_pipelines.delivery import live
    from altor_pipelines.settings import Settings

    marks = {"stripe": "evt_2", "linear": "iss@1", "github": RuntimeError("down"),
             "clickhouse": "2026-08-01T10:00:00+00:00"}

    def fake_mark(name, settings, con):
        if isinstance(marks[name], Exception):
            raise marks[name]
        return marks[name]

    monkeypatch.setattr(live, "change_mark", fake_mark)
    settings = dataclasses.replace(Settings.from_env(), live_sync_max_age_minutes=60)
    con = duckdb.connect()
    now = datetime(2026, 8, 1, 10, 30, tzinfo=UTC)
    names = ("stripe", "linear", "github", "clickhouse")
    first = live.sources_due(con, settings, names, now)
    assert first == {"stripe": "evt_2", "linear": "iss@1", "github": None,
                     "clickhouse": "2026-08-01T10:00:00+00:00"}  # nothing recorded yet
    live.record_sync_marks(con, first, now)

    marks["stripe"] = "evt_3"  # a new event; the rest unchanged; GitHub's probe still fails
    later = now + timedelta(minutes=20)
    assert live.sources_due(con, settings, names, later) == {"stripe": "evt_3", "github": None}
    # past the maximum age every source is due, whatever its mark
    assert set(live.sources_due(con, settings, names, now + timedelta(minutes=60))) == set(names)
    never = dataclasses.replace(settings, live_sync_max_age_minutes=0)
    assert set(live.sources_due(con, never, names, later)) == set(names)


def test_a_loop_learns_the_playbook_again_only_after_its_maximum_age(monkeypatch):
    from datetime import UTC, datetime, timedelta

    from altor_pipelines.delivery import live
    from altor_pipelines.delivery.playbook import Playbook

    learned: list[object] = []
    monkeypatch.setattr(live, "learn_playbook", lambda con: learned.append(con) or Playbook())
    monkeypatch.setattr(live, "save_playbook", lambda con, book, at: 0)
    cached = live.LivePlaybook(max_age=timedelta(hours=6))
    t0 = datetime(2026, 8, 1, 9, tzinfo=UTC)
    first = cached("con", t0)
    assert cached("con", t0 + timedelta(hours=5, minutes=59)) is first and len(learned) == 1
    assert cached("con", t0 + timedelta(hours=6)) is not first and len(learned) == 2
