"""Temperature scaling through the recording-error channel, and the recording-error rate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from altor_pipelines.ml.calibration import apply_temperature, fit_temperature, noisy_label_nll
from altor_pipelines.ml.noise import recording_error_rate


def _world(n: int, k: int, true_t: float, error_rate: float, seed: int = 0):
    """Logits whose softmax at `true_t` is the true cause's distribution; true causes drawn
    from it, recorded causes flipped uniformly to another cause with `error_rate`."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, k))
    p_true = softmax(logits / true_t, axis=1)
    truth = np.array([rng.choice(k, p=row) for row in p_true])
    flip = rng.random(n) < error_rate
    other = (truth + rng.integers(1, k, n)) % k
    recorded = np.where(flip, other, truth)
    return softmax(logits, axis=1), truth, recorded


def test_apply_temperature_keeps_the_ranking_and_untrained_causes_at_zero():
    p = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.3, 0.6, 0.0]])
    hot = apply_temperature(p, 0.5)
    assert np.allclose(hot.sum(axis=1), 1) and (hot[:, 3] == 0).all()
    assert (hot.argmax(axis=1) == p.argmax(axis=1)).all()
    assert hot[0, 0] == pytest.approx(0.49 / (0.49 + 0.04 + 0.01))  # p^(1/T), renormalised
    assert np.allclose(apply_temperature(p, 1.0), p)


def test_temperature_is_recovered_from_clean_labels():
    p, truth, _ = _world(4000, 5, true_t=2.0, error_rate=0.0)
    assert fit_temperature(p, truth, 0.0) == pytest.approx(2.0, rel=0.1)


def test_noisy_records_with_the_channel_give_the_true_temperature_without_it_a_hotter_one():
    p, truth, recorded = _world(4000, 5, true_t=2.0, error_rate=0.15)
    corrected = fit_temperature(p, recorded, 0.15)
    naive = fit_temperature(p, recorded, 0.0)
    assert corrected == pytest.approx(2.0, rel=0.12)
    assert naive > corrected * 1.2  # calibrated on the records: less sure than it should be
    # the fitted temperature minimises the channel's likelihood
    assert noisy_label_nll(p, recorded, corrected, 0.15) <= noisy_label_nll(p, recorded, 2.4,
                                                                              0.15)


def test_recording_error_rate_is_the_disagreement_among_the_most_confident():
    classes = ["a", "b"]
    proba = np.array([[0.99, 0.01], [0.98, 0.02], [0.01, 0.99], [0.6, 0.4], [0.45, 0.55],
                      [0.97, 0.03], [0.5, 0.5], [0.52, 0.48], [0.55, 0.45], [0.58, 0.42]])
    labels = np.array(["a", "b", "b", "b", "a", "a", "b", "b", "a", "a"], dtype=object)
    # top 30% by confidence: rows 0 (a, right), 2 (b, right), 1 (a predicted, recorded b)
    assert recording_error_rate(proba, labels, classes, share=0.3, minimum=0) == \
        pytest.approx(1 / 3)
    # a small history: at least `minimum` tickets (here all ten; rows 1, 3, 4, 6, 7 disagree)
    assert recording_error_rate(proba, labels, classes, share=0.3, minimum=200) == \
        pytest.approx(0.5)
    assert recording_error_rate(proba[:0], labels[:0], classes) == 0.0
