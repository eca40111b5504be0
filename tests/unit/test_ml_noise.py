"""Confident learning on crafted probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from altor_pipelines.ml.noise import (
    CAUSE_PRIOR_TICKETS,
    CAUSE_RATE_CAP,
    find_label_issues,
    recording_error_rates,
    recording_error_samples,
)

CLASSES = ["a", "b", "c"]


def test_confidently_contradicted_labels_are_relabelled_or_dropped():
    labels = np.array(["a", "a", "a", "b", "b", "c", "a", "c"], dtype=object)
    proba = np.array([
        [0.9, 0.05, 0.05],  # a, right
        [0.8, 0.1, 0.1],  # a, right
        [0.7, 0.2, 0.1],  # a, right
        [0.1, 0.85, 0.05],  # b, right
        [0.05, 0.9, 0.05],  # b, right
        [0.1, 0.1, 0.8],  # c, right
        [0.02, 0.95, 0.03],  # recorded a, evidence says b (0.95 >= relabel_min) -> relabel
        [0.7, 0.05, 0.25],  # recorded c, evidence says a (0.7 < relabel_min) -> drop
    ])
    r = find_label_issues(proba, labels, CLASSES, relabel_min=0.8)
    assert list(np.nonzero(r.issues)[0]) == [6, 7]
    assert r.labels[6] == "b" and r.labels[7] == "c"
    assert list(r.keep) == [True] * 7 + [False]
    assert r.summary()["relabelled"] == 1 and r.summary()["dropped"] == 1
    # thresholds: mean self-probability per recorded class
    assert np.isclose(r.thresholds["a"], (0.9 + 0.8 + 0.7 + 0.02) / 4)  # 0.605 <= 0.7
    # row 3 (b at 0.85 < t_b = 0.875) is confident in no cause: the joint counts 7 rows
    assert r.estimated_noise_rate == 2 / 7


def test_no_issue_when_the_evidence_is_not_confident():
    labels = np.array(["a", "b"], dtype=object)
    proba = np.array([[0.5, 0.4, 0.1], [0.5, 0.45, 0.05]])
    r = find_label_issues(proba, labels, CLASSES)
    # b's threshold is 0.45: the second row is b-confident and a-confident; a wins (0.5 > .45)
    # only if 0.5 >= t_a = 0.5 -> it is flagged; the first row is a and stays.
    assert not r.issues[0]
    assert r.issues[1] and not r.keep[1]  # 0.5 < relabel_min: dropped, not relabelled


def test_each_cause_gets_its_own_recording_error_rate():
    """A cause whose confident predictions are often recorded as another cause reads noisier
    than one whose records agree; both are shrunk toward the overall rate."""
    classes = ["a", "b"]
    # 50 tickets predicted "a" (all recorded "a"), 50 predicted "b" (3 of the top 10 by
    # probability recorded "a": the help desk closes them as "a")
    proba = np.array([[0.9, 0.1]] * 50 + [[0.1, 0.9]] * 50)
    labels = np.array(["a"] * 50 + ["a"] * 3 + ["b"] * 47, dtype=object)
    rates = recording_error_rates(proba, labels, classes, overall=0.1)
    n = 10  # the most confident fifth of each cause's 50
    assert rates["a"] == pytest.approx((0 + CAUSE_PRIOR_TICKETS * 0.1) / (n + CAUSE_PRIOR_TICKETS))
    assert rates["b"] == pytest.approx((3 + CAUSE_PRIOR_TICKETS * 0.1) / (n + CAUSE_PRIOR_TICKETS))


def test_a_cause_the_model_confuses_is_not_read_as_noisy_records():
    """Half of a cause's confident predictions recorded as another cause is the model's
    confusion (look-alike causes), not the help desk's: the rate stops at the cap."""
    proba = np.array([[0.9, 0.1]] * 50 + [[0.1, 0.9]] * 50)
    labels = np.array(["a"] * 50 + (["a", "b"] * 25), dtype=object)
    rates = recording_error_rates(proba, labels, ["a", "b"], overall=0.1)
    assert rates["b"] == pytest.approx(CAUSE_RATE_CAP * 0.1)


def test_each_causes_rate_reports_how_many_tickets_it_rests_on():
    """The rate of a cause predicted 50 times rests on its most confident fifth (10 tickets),
    one predicted 7 times on 2 (rounded up); the noise summary carries the counts."""
    proba = np.array([[0.9, 0.1]] * 50 + [[0.1, 0.9]] * 7)
    labels = np.array(["a"] * 50 + ["b"] * 7, dtype=object)
    assert recording_error_samples(proba, ["a", "b"]) == {"a": 10, "b": 2}
    summary = find_label_issues(proba, labels, ["a", "b"]).summary()
    assert summary["recording_error_rate_tickets"] == {"a": 10, "b": 2}
    assert set(summary["recording_error_rates"]) == {"a", "b"}
