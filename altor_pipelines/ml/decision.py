"""The decision: deliver the top cause when its calibrated probability clears a threshold
chosen on validation tickets so that delivered diagnoses stay ≥ 95% correct; otherwise abstain,
which escalates the ticket as uncertain/novel. Abstaining is an outcome, not an error."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from altor_pipelines.taxonomy import action_for

MEDIUM_FLOOR = 0.5  # below the threshold but more likely than every other cause together


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float | None  # None: no threshold reaches the target; every ticket abstains
    target_precision: float
    precision: float  # of the validation tickets delivered at the threshold
    coverage: float  # share of validation tickets delivered
    delivered: int
    feasible: bool
    labels_target: float | None = None  # the precision required of the validation labels

    def to_dict(self) -> dict:
        return asdict(self)


def precision_coverage_curve(
    top_proba: np.ndarray, correct: np.ndarray
) -> dict[str, np.ndarray]:
    """For each distinct probability t (descending): precision, coverage and expected precision
    (mean top probability: what the calibrated model itself expects) of delivering the tickets
    whose top probability is ≥ t."""
    p = np.asarray(top_proba, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    order = np.argsort(-p, kind="stable")
    p, ok = p[order], ok[order]
    cum_ok = np.cumsum(ok)
    cum_p = np.cumsum(p)
    # the last index of each distinct value: delivering "≥ t" includes every tie of t
    last = np.r_[np.nonzero(np.diff(p))[0], len(p) - 1] if len(p) else np.array([], int)
    n = np.asarray(last) + 1
    return {"threshold": p[last], "precision": cum_ok[last] / n, "coverage": n / max(len(p), 1),
            "delivered": n, "expected_precision": cum_p[last] / n}


def choose_threshold(
    top_proba: np.ndarray,
    correct: np.ndarray,
    target_precision: float = 0.95,
    min_delivered: int = 20,
    reported_target: float | None = None,
) -> ThresholdChoice:
    """The lowest threshold t at which the validation tickets with top probability ≥ t are at
    least `target_precision` correct, counting only thresholds that deliver at least
    `min_delivered` tickets (so that a handful of lucky tickets does not set it).
    `reported_target`: the precision the caller means (recorded as `target_precision`) when
    `target_precision` is its translation to noisy labels (`labels_target` keeps the latter);
    then the calibrated probabilities of the tickets delivered must also average at least
    `reported_target`: a second guard that does not rest on the estimated noise rate."""
    curve = precision_coverage_curve(top_proba, correct)
    meant = target_precision if reported_target is None else reported_target
    good = (curve["precision"] >= target_precision) & (curve["delivered"] >= min_delivered)
    if reported_target is not None:
        good &= curve["expected_precision"] >= reported_target
    if not good.any():
        return ThresholdChoice(None, meant, 0.0, 0.0, 0, False, target_precision)
    i = int(np.nonzero(good)[0][-1])  # thresholds descend: the last good one is the lowest
    return ThresholdChoice(float(curve["threshold"][i]), meant,
                           float(curve["precision"][i]), float(curve["coverage"][i]),
                           int(curve["delivered"][i]), True, target_precision)


def confidence_band(top_probability: float, threshold: float | None) -> str:
    """high: delivered; medium: abstained but ≥ 0.5; low: the rest."""
    if threshold is not None and top_probability >= threshold:
        return "high"
    return "medium" if top_probability >= MEDIUM_FLOOR else "low"


@dataclass(frozen=True)
class Decision:
    top_cause: str
    top_probability: float
    cause: str | None  # None: abstained
    abstained: bool
    escalate: bool
    action: str  # escalate | reroute | reply
    confidence_band: str


def decide(proba_row: np.ndarray, classes: list[str], threshold: float | None) -> Decision:
    j = int(np.argmax(proba_row))
    top, p = classes[j], float(proba_row[j])
    delivered = threshold is not None and p >= threshold
    cause = top if delivered else None
    action = action_for(cause)
    return Decision(top, p, cause, not delivered, action == "escalate", action,
                    confidence_band(p, threshold))
