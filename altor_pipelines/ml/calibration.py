"""Calibration against noisy labels: temperature scaling fitted through a model of the help
desk's recording errors.

The only labels are the causes agents recorded, and about one in ten is wrong. Temperature
scaling fitted on them directly makes the model as unsure as the *records* (≈ 0.9 at best);
fitted on cleaned labels (the confident-learning pass drops or relabels exactly the tickets the
model disagrees with) it makes it surer than it is. Instead, the recorded label is modelled as
the true cause passed through a noisy channel — kept with probability 1 − η, else replaced by
one of the other K − 1 causes uniformly (the forward correction of Patrini et al., 2017):

    P(recorded = j | x) = (1 − η) p_T(j | x) + η (1 − p_T(j | x)) / (K − 1)

and the temperature T maximises the likelihood of the recorded validation labels under it, with
η the recording-error rate estimated from the data (`noise.recording_error_rate`). p_T is then
the probability of the true cause. One parameter: a few hundred validation tickets suffice.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import softmax

_EPS = 1e-12
MAX_LOG_TEMPERATURE = 4.0  # T in [e^-4, e^4]: beyond that the probabilities are 0/1 or uniform


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities (rows sum to 1) by a temperature: softmax(log p / T). Columns that
    are all zero (causes never trained on) stay zero."""
    proba = np.asarray(proba, dtype=float)
    logits = np.log(np.clip(proba, _EPS, None)) / temperature
    out = softmax(logits, axis=1)
    out[:, ~(proba > 0).any(axis=0)] = 0.0
    return out / out.sum(axis=1, keepdims=True)


def noisy_label_nll(proba: np.ndarray, recorded: np.ndarray, temperature: float,
                    error_rate: float) -> float:
    """Mean negative log-likelihood of the recorded label indices under the noisy channel."""
    p = apply_temperature(proba, temperature)
    k = p.shape[1]
    q = (1.0 - error_rate) * p + error_rate * (1.0 - p) / max(k - 1, 1)
    return float(-np.mean(np.log(q[np.arange(len(recorded)), recorded] + _EPS)))


def fit_temperature(proba: np.ndarray, recorded: np.ndarray, error_rate: float) -> float:
    """The temperature that best explains the recorded labels (indices into proba's columns)
    given a recording-error rate; 1.0 when there is nothing to fit on."""
    recorded = np.asarray(recorded, dtype=int)
    if len(recorded) == 0:
        return 1.0
    fit = minimize_scalar(
        lambda log_t: noisy_label_nll(proba, recorded, float(np.exp(log_t)), error_rate),
        bounds=(-MAX_LOG_TEMPERATURE, MAX_LOG_TEMPERATURE), method="bounded")
    return float(np.exp(fit.x))
