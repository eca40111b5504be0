"""The decision rule: threshold for precision, bands, and what each outcome asks for."""

from __future__ import annotations

import numpy as np
import pytest

from altor_pipelines.ml.decision import (
    choose_threshold,
    confidence_band,
    decide,
    precision_coverage_curve,
)
from altor_pipelines.taxonomy import CAUSES


def test_threshold_is_the_lowest_that_keeps_precision_on_a_crafted_validation_set():
    # sorted by probability: 10 right at >= 0.90, then a wrong one at 0.85, 9 right down to
    # 0.61, then wrong ones: precision at 0.61 is 19/20 = 0.95, at 0.60 it is 19/21 < 0.95.
    right_hi = [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.90]
    right_lo = [0.80, 0.78, 0.76, 0.74, 0.72, 0.70, 0.66, 0.63, 0.61]
    p = np.array(right_hi + [0.85] + right_lo + [0.60, 0.55, 0.50])
    ok = np.array([True] * 10 + [False] + [True] * 9 + [False, False, False])
    choice = choose_threshold(p, ok, target_precision=0.95, min_delivered=5)
    assert choice.threshold == pytest.approx(0.61)
    assert choice.delivered == 20
    assert choice.precision == pytest.approx(0.95)
    assert choice.coverage == pytest.approx(20 / 23)
    assert choice.feasible


def test_threshold_counts_ties_together():
    p = np.array([0.9, 0.8, 0.8, 0.7])
    ok = np.array([True, True, False, True])
    # delivering >= 0.8 delivers both 0.8 tickets: 2/3, never 2/2
    choice = choose_threshold(p, ok, target_precision=0.9, min_delivered=1)
    assert choice.threshold == pytest.approx(0.9)
    curve = precision_coverage_curve(p, ok)
    assert list(curve["delivered"]) == [1, 3, 4]


def test_threshold_ignores_precision_measured_on_too_few_tickets():
    p = np.array([0.99, 0.98, 0.5, 0.4])
    ok = np.array([True, True, False, False])
    choice = choose_threshold(p, ok, target_precision=0.95, min_delivered=3)
    assert choice.threshold is None and not choice.feasible


def test_unreachable_precision_means_abstaining_on_everything():
    p = np.array([0.9, 0.8, 0.7])
    ok = np.array([False, True, False])
    choice = choose_threshold(p, ok, target_precision=0.95, min_delivered=1)
    assert choice.threshold is None
    d = decide(np.eye(len(CAUSES))[0], list(CAUSES), None)
    assert d.abstained and d.cause is None and d.escalate


@pytest.mark.parametrize(("p", "band"), [(0.97, "high"), (0.9, "high"), (0.7, "medium"),
                                         (0.5, "medium"), (0.49, "low")])
def test_confidence_band(p, band):
    assert confidence_band(p, 0.9) == band


@pytest.mark.parametrize(("cause", "escalate", "action"), [
    ("known_bug", False, "reply"),
    ("deploy_regression", True, "escalate"),
    ("novel", True, "escalate"),
    ("misrouted", False, "reroute"),
    ("billing_issue", False, "reply"),
])
def test_delivered_cause_follows_the_taxonomy_escalation_policy(cause, escalate, action):
    row = np.full(len(CAUSES), 0.01)
    row[CAUSES.index(cause)] = 0.92
    d = decide(row, list(CAUSES), 0.9)
    assert d.cause == cause and not d.abstained
    assert (d.escalate, d.action) == (escalate, action)


def test_below_threshold_abstains_and_escalates_but_keeps_the_top_cause():
    row = np.full(len(CAUSES), 0.05)
    row[CAUSES.index("plan_limit")] = 0.6
    d = decide(row, list(CAUSES), 0.9)
    assert d.cause is None and d.abstained and d.escalate and d.action == "escalate"
    assert d.top_cause == "plan_limit" and d.top_probability == pytest.approx(0.6)
    assert d.confidence_band == "medium"


def test_with_a_noisy_label_target_the_calibrated_expectation_must_hold_too():
    # records agree with 9 of the 10 most probable (0.9 >= labels target 0.85), but the model
    # itself expects only (0.99 x 5 + 0.91 x 5) / 10 = 0.95 from them, and less below
    p = np.array([0.99] * 5 + [0.91] * 5 + [0.6] * 10)
    ok = np.array([True] * 9 + [False] + [True] * 10)
    noisy_only = choose_threshold(p, ok, 0.85, min_delivered=5)
    assert noisy_only.threshold == 0.6
    both = choose_threshold(p, ok, 0.85, min_delivered=5, reported_target=0.95)
    assert both.threshold == 0.91 and both.target_precision == 0.95
    assert both.labels_target == 0.85 and both.delivered == 10
