"""The per-cause decision rule, on hand-computed cases: the noise conversion, the smoothed
estimate, each cause's model threshold or rule, the choice between them, and what each outcome
asks of the help desk."""

from __future__ import annotations

import math

import numpy as np
import pytest

from altor_pipelines.ml.decision import (
    ABSTAIN,
    MODEL,
    RULE,
    DecisionConfig,
    DecisionPolicy,
    choose_policy,
    confidence_band,
    decisions,
    model_option,
    precision_coverage_curve,
    rule_option,
    smoothed_agreement,
    true_precision,
)
from altor_pipelines.taxonomy import CAUSES

# no prior, no lower bound: every estimate is a plain share, computable by hand
PLAIN = DecisionConfig(target_precision=0.75, min_delivered=2, prior_strength=0.0, z=0.0)


def test_true_precision_undoes_the_recording_channel():
    # two causes, 10% recording errors: a set 87.5% right agrees with its records
    # 0.875 x 0.9 + 0.125 x 0.1 = 0.8 of the time
    assert true_precision(0.8, 0.1, 2) == pytest.approx(0.875)
    assert true_precision(0.8, 0.0, 9) == pytest.approx(0.8)
    # ten causes: (0.9 - 0.1/9) / (1 - 0.1 - 0.1/9) = 1
    assert true_precision(0.9, 0.1, 10) == pytest.approx(1.0)
    assert true_precision(0.01, 0.1, 10) == 0.0  # below what wrong records alone give: 0


def test_smoothed_agreement_shrinks_toward_the_pool_and_takes_a_lower_bound():
    # 18 of 20, pooled 0.5 worth 20 tickets: mean (18 + 10) / 40 = 0.7,
    # sd = sqrt(0.7 x 0.3 / 41) = 0.07157, lower bound 0.7 - 0.07157
    mean, low = smoothed_agreement(18, 20, 0.5, DecisionConfig(prior_strength=20, z=1.0))
    assert mean == pytest.approx(0.7)
    assert low == pytest.approx(0.7 - math.sqrt(0.21 / 41))
    assert smoothed_agreement(18, 20, 0.5, PLAIN) == (pytest.approx(0.9), pytest.approx(0.9))


def _rows(*top: tuple[int, float], k: int = 3) -> np.ndarray:
    """Probability rows: cause `j` at `p`, the rest shared equally."""
    out = np.zeros((len(top), k))
    for i, (j, p) in enumerate(top):
        out[i, :] = (1 - p) / (k - 1)
        out[i, j] = p
    return out


def test_model_threshold_is_the_lowest_that_reaches_the_target_for_that_cause():
    # cause 0 at 0.9 (right), 0.8 (right), 0.7 (wrong), 0.6 (right), 0.5 (wrong):
    # >= 0.9: 1 ticket (< min_delivered); >= 0.8: 2/2; >= 0.7: 2/3; >= 0.6: 3/4 = 0.75;
    # >= 0.5: 3/5. The lowest that reaches 0.75 is 0.6.
    p = _rows((0, 0.9), (0, 0.8), (0, 0.7), (0, 0.6), (0, 0.5), (1, 0.95))
    recorded = np.array([0, 0, 1, 0, 2, 1])
    opt = model_option(p, recorded, 0, 0.0, PLAIN)
    assert opt.feasible and opt.threshold == pytest.approx(0.6)
    assert (opt.delivered, opt.agreeing) == (4, 3)
    assert opt.estimated_precision == pytest.approx(0.75)
    # cause 1 has one ticket: never enough to decide on
    assert not model_option(p, recorded, 1, 0.0, PLAIN).feasible


def test_rule_option_counts_the_tickets_its_rule_names():
    rules = np.array([0, 0, 0, 1, -1, 1])
    recorded = np.array([0, 0, 1, 1, 0, 0])
    opt = rule_option(rules, recorded, 0, 0.0, 3, config=PLAIN)
    assert (opt.delivered, opt.agreeing, opt.feasible) == (3, 2, False)  # 2/3 < 0.75
    # only among the tickets the model left: 2/2
    left = np.array([True, True, False, True, True, True])
    assert rule_option(rules, recorded, 0, 0.0, 3, left, PLAIN).feasible


def test_each_cause_goes_to_the_model_the_rule_or_nobody():
    """Cause 0: the model finds 3 right at 3/4, its rule 2 at 2/2: the model. Cause 1: the
    model is 2/3 (< 0.75), its rule 3/4: the rule. Cause 2: neither: abstain."""
    p = _rows((0, 0.9), (0, 0.8), (0, 0.7), (0, 0.6),  # tickets 1-4: model says 0
              (1, 0.6), (1, 0.5), (1, 0.5),  # tickets 5-7: model says 1
              (2, 0.4), (2, 0.45), (2, 0.45))  # tickets 8-10: model says 2
    recorded = np.array([0, 0, 0, 1, 2, 1, 1, 1, 2, 0])
    rules = np.array([0, 0, -1, -1, 1, 1, 1, 1, -1, 2])
    classes = ["a", "b", "c"]
    policy = choose_policy(p, recorded, rules, classes, 0.0, PLAIN)
    a, b, c = (policy.causes[x] for x in classes)
    assert a.decided_by == MODEL and a.threshold == pytest.approx(0.6)
    assert (a.model.agreeing, a.rule.agreeing) == (3, 2)
    assert b.decided_by == RULE and not b.model.feasible and b.rule.feasible
    assert b.estimated_precision == pytest.approx(0.75)  # 3/4 among the tickets left
    assert c.decided_by == ABSTAIN and c.estimated_precision is None
    d = policy.apply(p, rules)
    assert list(d.cause) == [0, 0, 0, 0, 1, 1, 1, 1, -1, -1]
    assert list(d.decided_by) == [MODEL] * 4 + [RULE] * 4 + [ABSTAIN] * 2
    # 8 delivered of 10; right: tickets 1-3, 6-8 = 6 of 8
    assert policy.validation["delivered_share"] == pytest.approx(0.8)
    assert policy.validation["recorded_agreement"] == pytest.approx(0.75)
    # the rules alone: causes 0 (2/2) and 1 (3/4) by their rules, cause 2 abstains
    alone = policy.rules_only().apply(p, rules)
    assert list(alone.cause) == [0, 0, -1, -1, 1, 1, 1, 1, -1, -1]


def test_a_tie_goes_to_the_rule():
    p = _rows((0, 0.9), (0, 0.9), (1, 0.9), (1, 0.9), k=2)
    recorded = np.array([0, 0, 1, 1])
    rules = np.array([0, 0, 1, 1])
    policy = choose_policy(p, recorded, rules, ["a", "b"], 0.0, PLAIN)
    assert policy.by(RULE) == ["a", "b"] and policy.by(MODEL) == []


def test_a_model_registered_with_one_global_threshold_reads_as_per_cause():
    legacy = DecisionPolicy.from_dict({"threshold": 0.9, "target_precision": 0.95}, list(CAUSES))
    assert legacy.by(MODEL) == list(CAUSES)
    none = DecisionPolicy.from_dict({"threshold": None, "target_precision": 0.95},
                                    list(CAUSES))
    d = none.apply(np.eye(len(CAUSES))[:2], np.array([0, 1]))
    assert not d.delivered.any()
    round_trip = DecisionPolicy.from_dict(legacy.to_dict(), list(CAUSES))
    assert round_trip.by(MODEL) == list(CAUSES)


def test_threshold_counts_ties_together():
    p = np.array([0.9, 0.8, 0.8, 0.7])
    ok = np.array([True, True, False, True])
    curve = precision_coverage_curve(p, ok)
    assert list(curve["delivered"]) == [1, 3, 4]
    assert curve["precision"][1] == pytest.approx(2 / 3)


@pytest.mark.parametrize(("p", "delivered", "band"), [
    (0.97, True, "high"), (0.3, True, "high"), (0.7, False, "medium"), (0.5, False, "medium"),
    (0.49, False, "low")])
def test_confidence_band(p, delivered, band):
    assert confidence_band(p, delivered) == band


def _policy_for(cause: str, by: str) -> DecisionPolicy:
    policy = DecisionPolicy.from_dict({"threshold": None, "target_precision": 0.95},
                                      list(CAUSES))
    causes = dict(policy.causes)
    causes[cause] = causes[cause].__class__(cause, by, 0.9 if by == MODEL else None, 0.97,
                                            None, None)
    return DecisionPolicy(list(CAUSES), causes, 0.95, 0.1)


@pytest.mark.parametrize(("cause", "escalate", "action"), [
    ("known_bug", False, "reply"),
    ("deploy_regression", True, "escalate"),
    ("novel", True, "escalate"),
    ("misrouted", False, "reroute"),
    ("billing_issue", False, "reply"),
])
def test_delivered_cause_follows_the_taxonomy_escalation_policy(cause, escalate, action):
    row = np.full((1, len(CAUSES)), 0.01)
    row[0, CAUSES.index(cause)] = 0.92
    (d,) = decisions(_policy_for(cause, MODEL), row, np.array([-1]))
    assert d.cause == cause and not d.abstained and d.decided_by == MODEL
    assert (d.escalate, d.action) == (escalate, action)
    assert d.estimated_precision == pytest.approx(0.97)


def test_below_threshold_abstains_and_escalates_but_keeps_the_top_cause():
    row = np.full((1, len(CAUSES)), 0.05)
    row[0, CAUSES.index("plan_limit")] = 0.6
    (d,) = decisions(_policy_for("plan_limit", MODEL), row, np.array([-1]))
    assert d.cause is None and d.abstained and d.escalate and d.action == "escalate"
    assert d.top_cause == "plan_limit" and d.top_probability == pytest.approx(0.6)
    assert d.confidence_band == "medium" and d.decided_by == ABSTAIN


def test_a_rule_decided_cause_is_delivered_whatever_the_model_says():
    row = np.full((1, len(CAUSES)), 0.05)
    row[0, CAUSES.index("how_to")] = 0.6
    rule = np.array([CAUSES.index("billing_issue")])
    (d,) = decisions(_policy_for("billing_issue", RULE), row, rule)
    assert d.cause == "billing_issue" and d.decided_by == RULE and not d.abstained
    assert d.top_cause == "how_to" and d.confidence_band == "high"


def test_a_cause_is_read_through_at_least_the_overall_error_rate():
    """Cause a's records agree 4 of 5 times. Read through its own rate (0), that is 0.8 right:
    under a 0.9 target. Read through the overall 0.2 (two causes: a wrong diagnosis agrees
    with a wrong record 0.2 of the time), (0.8 - 0.2) / (1 - 0.2 - 0.2) = 1: delivered. A cause
    whose own rate is above the overall keeps its own."""
    p = _rows((0, 0.9), (0, 0.9), (0, 0.9), (0, 0.9), (0, 0.9),
              (1, 0.9), (1, 0.9), (1, 0.9), (1, 0.9), (1, 0.9), k=2)
    recorded = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    rules = np.full(10, -1)
    target = DecisionConfig(target_precision=0.9, min_delivered=2, prior_strength=0.0, z=0.0)
    rates = {"a": 0.0, "b": 0.3}
    floored = choose_policy(p, recorded, rules, ["a", "b"], 0.2, target, rates)
    assert floored.causes["a"].decided_by == MODEL
    assert floored.causes["a"].estimated_precision == pytest.approx(1.0)
    # b through its own 0.3: (0.8 - 0.3) / (1 - 0.3 - 0.3) = 1.25, clipped to 1
    assert floored.causes["b"].model.estimated_precision == pytest.approx(1.0)
    own = choose_policy(p, recorded, rules, ["a", "b"], 0.2,
                        DecisionConfig(target_precision=0.9, min_delivered=2, prior_strength=0.0,
                                       z=0.0, rates_at_least_overall=False), rates)
    assert own.causes["a"].decided_by == ABSTAIN
    assert own.causes["a"].model.estimated_precision == pytest.approx(0.8)
    # the policy keeps the rates it read each cause through (a's floored to 0.2), and the
    # joint estimate uses them: both causes' 4-of-5 agreement reads 1.0
    assert floored.error_rates == {"a": 0.2, "b": 0.3}
    assert floored.validation["estimated_precision"] == pytest.approx(1.0)
    again = DecisionPolicy.from_dict(floored.to_dict(), ["a", "b"])
    assert again.error_rates == floored.error_rates and again.rate("a") == 0.2


def test_the_joint_estimate_reads_each_cause_through_its_own_rate():
    """Cause a delivered 4 times, records agreeing 3 of 4, decided through a rate of 0: 0.75
    right. Cause b delivered 8 times, agreeing 6 of 8, through 0.25: (0.75 - 0.25) / (1 - 0.25
    - 0.25) = 1.0. Jointly, weighed by deliveries, (4 · 0.75 + 8 · 1.0) / 12 = 0.9167 (an
    unweighted mean would say 0.875); the pooled 9 of 12 through the overall rate 0, 0.75."""
    p = _rows(*[(0, 0.9)] * 4, *[(1, 0.9)] * 8, k=2)
    recorded = np.array([0, 0, 0, 1] + [1] * 6 + [0, 0])
    rules = np.full(12, -1)
    config = DecisionConfig(target_precision=0.7, min_delivered=2, prior_strength=0.0, z=0.0)
    policy = choose_policy(p, recorded, rules, ["a", "b"], 0.0, config, {"a": 0.0, "b": 0.25})
    assert policy.error_rates == {"a": 0.0, "b": 0.25}
    assert [policy.causes[c].estimated_precision for c in "ab"] == pytest.approx([0.75, 1.0])
    assert policy.validation["recorded_agreement"] == pytest.approx(0.75)
    assert policy.validation["estimated_precision"] == pytest.approx(0.9167)
    assert policy.validation["estimated_precision_overall_rate"] == pytest.approx(0.75)


def test_a_policy_stored_before_the_rates_reads_them_as_it_was_chosen():
    """A model registered before the policy kept its rates was chosen through the noise
    summary's per-cause rates, unfloored: it reads back so."""
    p = _rows(*[(0, 0.9)] * 4, *[(1, 0.9)] * 8, k=2)
    config = DecisionConfig(target_precision=0.7, min_delivered=2, prior_strength=0.0, z=0.0)
    stored = choose_policy(p, np.zeros(12, int), np.full(12, -1), ["a", "b"], 0.1, config,
                           {"a": 0.0, "b": 0.25}).to_dict()
    del stored["error_rates"], stored["config"]["rates_at_least_overall"]
    old = DecisionPolicy.from_dict(stored, ["a", "b"], {"a": 0.05, "b": 0.25})
    assert old.rate("a") == 0.05 and old.rate("b") == 0.25
    assert old.config.rates_at_least_overall is False
    assert DecisionPolicy.from_dict(stored, ["a", "b"]).rate("a") == 0.1
    # a setting from a later version is ignored, not an error
    stored["config"]["a_later_setting"] = 1
    assert DecisionPolicy.from_dict(stored, ["a", "b"]).config.z == 0.0
