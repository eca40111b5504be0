"""Label noise: find the recorded causes that the evidence confidently contradicts.

Confident learning (Northcutt, Jiang & Chuang 2021), done by hand in a few lines:

1. out-of-fold probabilities: every labelled ticket is scored by a model that never saw it;
2. a per-cause threshold t_j = the mean probability of cause j over the tickets recorded as j
   (how sure the model is, on average, when the label is right);
3. a ticket's *confident* cause is, among the causes whose probability clears their
   threshold, the most probable; the counts (recorded cause × confident cause) form the
   confident joint, whose off-diagonal share estimates the noise rate;
4. a ticket whose confident cause differs from its recorded cause is a label issue: relabelled
   to the confident cause when that probability is ≥ `relabel_min`, else dropped from
   training (weight 0).

The off-diagonal share of the confident joint counts the model's own mistakes as noise too (it
read 0.17–0.27 on a help desk that mis-records 0.10). The *recording-error rate* used for
calibration and the threshold is estimated where the model is rarely wrong: among the
`HIGH_CONFIDENCE_SHARE` of tickets with the highest out-of-fold probability, the share whose
recorded cause differs from the predicted one. The model's own mistakes still count there, so
the estimate errs high (less so the smaller the share; a tenth of a few thousand tickets keeps
its standard error near 2 points); a rate that is too high loosens the threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict


def out_of_fold_proba(
    estimator, X, y: np.ndarray, classes: list[str], n_splits: int = 5, seed: int = 0,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Probabilities (n × len(classes)) from `n_splits`-fold models, each row by a model that
    did not train on it. Columns follow `classes` (a cause absent from `y` gets zeros)."""
    y = np.asarray(y)
    present, counts = np.unique(y, return_counts=True)
    k = int(max(2, min(n_splits, counts.min())))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    proba = cross_val_predict(clone(estimator), X, y, cv=cv, method="predict_proba",
                              n_jobs=n_jobs)
    out = np.zeros((len(y), len(classes)))
    for j, cls in enumerate(present):
        out[:, classes.index(cls)] = proba[:, j]
    return out


def out_of_fold_proba_cleaned(
    make_estimator: Callable[[int], Any], X, recorded: np.ndarray, cleaned: np.ndarray,
    keep: np.ndarray, classes: list[str], n_splits: int = 5, seed: int = 0,
) -> np.ndarray:
    """Out-of-fold probabilities of the procedure that is served: each fold's model is fitted
    on the other folds' kept rows with their cleaned labels, and scores every row of its fold
    (dropped rows too). Folds are stratified on the recorded cause. `make_estimator(fewest)`
    builds an unfitted model for a training set whose rarest cause has `fewest` rows."""
    recorded = np.asarray(recorded, dtype=object)
    cleaned = np.asarray(cleaned, dtype=object)
    keep = np.asarray(keep, dtype=bool)
    k = int(max(2, min(n_splits, np.unique(recorded, return_counts=True)[1].min())))
    out = np.zeros((len(recorded), len(classes)))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for fit_rows, score_rows in cv.split(np.zeros(len(recorded)), recorded):
        fit_rows = fit_rows[keep[fit_rows]]
        y = cleaned[fit_rows]
        fewest = int(np.unique(y, return_counts=True)[1].min())
        model = make_estimator(fewest).fit(X[fit_rows], y)
        proba = model.predict_proba(X[score_rows])
        for j, cls in enumerate(model.classes_):
            out[score_rows, classes.index(str(cls))] = proba[:, j]
    return out


HIGH_CONFIDENCE_SHARE = 0.1
MIN_CONFIDENT = 200
CAUSE_CONFIDENT_SHARE = 0.2  # of the tickets predicted as a cause, the most confident fifth
CAUSE_PRIOR_TICKETS = 20.0  # pseudo-tickets of the overall rate in each cause's estimate
# A cause "mis-recorded" more than this many times the overall rate is the model confusing it
# with another cause (two causes the features cannot tell apart), not the help desk's records.
CAUSE_RATE_CAP = 2.0


def recording_error_rate(proba: np.ndarray, labels: np.ndarray, classes: list[str],
                         share: float = HIGH_CONFIDENCE_SHARE,
                         minimum: int = MIN_CONFIDENT) -> float:
    """Share of the most confidently predicted tickets (the top `share` by out-of-fold top
    probability, but at least `minimum` of them or all) whose recorded cause is not the
    predicted one."""
    labels = np.asarray(labels, dtype=object)
    if len(labels) == 0:
        return 0.0
    top = proba.max(axis=1)
    # at least MIN_CONFIDENT tickets (or all): a tenth of a small history is too few to
    # estimate a rate near 0.1 from (a tenth of 800 has a standard error of 3 points)
    n = max(1, int(round(share * len(labels))), min(minimum, len(labels)))
    most = np.argsort(-top, kind="stable")[:n]
    predicted = np.array(classes, dtype=object)[proba[most].argmax(axis=1)]
    return float((predicted != labels[most]).mean())


def recording_error_rates(proba: np.ndarray, labels: np.ndarray, classes: list[str],
                          overall: float) -> dict[str, float]:
    """Per cause: the share of the cause's more confident out-of-fold predictions (the top
    `CAUSE_CONFIDENT_SHARE` of the tickets predicted as it) whose recorded cause is another,
    shrunk toward the `overall` rate by `CAUSE_PRIOR_TICKETS` pseudo-tickets. Help desks do not
    mis-record every cause alike (a ticket moved to sales is often closed as the question it
    looked like), so one rate for all makes the noisiest causes look worse than they are and
    the cleanest better. Capped at `CAUSE_RATE_CAP` times the overall rate: beyond it the
    disagreement is the model's own confusion, which must not read as precision."""
    labels = np.asarray(labels, dtype=object)
    rates = {}
    for cause, most in _most_confident_per_cause(proba, classes).items():
        wrong = float((labels[most] != cause).sum())
        rate = (wrong + CAUSE_PRIOR_TICKETS * overall) / (len(most) + CAUSE_PRIOR_TICKETS)
        rates[cause] = min(rate, CAUSE_RATE_CAP * overall)
    return rates


def recording_error_samples(proba: np.ndarray, classes: list[str]) -> dict[str, int]:
    """Per cause, how many tickets its recording-error rate was measured on (the most
    confident `CAUSE_CONFIDENT_SHARE` of the tickets predicted as it). Reported next to the
    rates: a cause predicted ~100 times has its rate from ~20 tickets, whose disagreement near
    0.2 swings by about ±0.09, and that swing moves the cause's estimated precision as much."""
    return {c: len(most) for c, most in _most_confident_per_cause(proba, classes).items()}


def _most_confident_per_cause(proba: np.ndarray, classes: list[str]) -> dict[str, np.ndarray]:
    """Per cause, the row indices of the most confident `CAUSE_CONFIDENT_SHARE` (rounded up)
    of the rows whose top cause it is."""
    predicted = proba.argmax(axis=1) if len(proba) else np.zeros(0, int)
    top = proba.max(axis=1) if len(proba) else np.zeros(0)
    out = {}
    for j, cause in enumerate(classes):
        mine = np.flatnonzero(predicted == j)
        n = int(np.ceil(CAUSE_CONFIDENT_SHARE * len(mine)))
        out[cause] = mine[np.argsort(-top[mine], kind="stable")[:n]]
    return out


@dataclass
class NoiseReport:
    labels: np.ndarray  # cleaned labels (relabelled where confident)
    keep: np.ndarray  # bool: False = dropped from training
    issues: np.ndarray  # bool: recorded cause contradicted by the evidence
    suggested: np.ndarray  # confident cause per row ("" when none clears its threshold)
    thresholds: dict[str, float]
    confident_joint: list[list[int]]  # rows: recorded cause, columns: confident cause
    classes: list[str]
    per_class: dict[str, dict[str, int]] = field(default_factory=dict)
    recording_error_rate: float = 0.0  # see the module docstring
    recording_error_rates: dict[str, float] = field(default_factory=dict)  # per cause
    recording_error_tickets: dict[str, int] = field(default_factory=dict)  # each rate's sample

    @property
    def n_issues(self) -> int:
        return int(self.issues.sum())

    @property
    def estimated_noise_rate(self) -> float:
        joint = np.asarray(self.confident_joint, dtype=float)
        total = joint.sum()
        return float((total - np.trace(joint)) / total) if total else 0.0

    def summary(self) -> dict:
        return {
            "method": "confident learning on 5-fold out-of-fold probabilities",
            "rows": int(len(self.labels)),
            "issues": self.n_issues,
            "relabelled": int((self.issues & self.keep).sum()),
            "dropped": int((~self.keep).sum()),
            "estimated_noise_rate": round(self.estimated_noise_rate, 4),
            "recording_error_rate": round(self.recording_error_rate, 4),
            "recording_error_rates": {c: round(v, 4)
                                      for c, v in self.recording_error_rates.items()},
            "recording_error_rate_tickets": dict(self.recording_error_tickets),
            "recording_error_rate_method": f"disagreement among the {HIGH_CONFIDENCE_SHARE:.0%} "
                                           "most confident out-of-fold predictions",
            "thresholds": {k: round(v, 4) for k, v in self.thresholds.items()},
            "confident_joint": self.confident_joint,
            "classes": self.classes,
            "per_class": self.per_class,
        }


def find_label_issues(
    proba: np.ndarray, labels: np.ndarray, classes: list[str], relabel_min: float = 0.8
) -> NoiseReport:
    """Confident-learning label issues and the cleaned labels (see the module docstring)."""
    labels = np.asarray(labels, dtype=object)
    k = len(classes)
    idx = np.array([classes.index(v) for v in labels])
    thresholds = np.ones(k)
    for j in range(k):
        mine = idx == j
        if mine.any():
            thresholds[j] = proba[mine, j].mean()
    above = proba >= thresholds[None, :]
    masked = np.where(above, proba, -1.0)
    confident = np.where(above.any(axis=1), masked.argmax(axis=1), -1)
    joint = np.zeros((k, k), dtype=int)
    for given, conf in zip(idx, confident, strict=True):
        if conf >= 0:
            joint[given, conf] += 1
    issues = (confident >= 0) & (confident != idx)
    rows = np.arange(len(idx))
    p_conf = np.where(confident >= 0, proba[rows, np.maximum(confident, 0)], 0.0)
    relabel = issues & (p_conf >= relabel_min)
    cleaned = labels.copy()
    cleaned[relabel] = np.array(classes, dtype=object)[confident[relabel]]
    keep = ~issues | relabel
    suggested = np.where(confident >= 0, np.array(classes, dtype=object)[np.maximum(confident, 0)],
                         "")
    per_class = {
        c: {"recorded": int((idx == j).sum()), "issues": int((issues & (idx == j)).sum()),
            "relabelled_away": int((relabel & (idx == j)).sum()),
            "relabelled_to": int((relabel & (confident == j)).sum()),
            "dropped": int((~keep & (idx == j)).sum())}
        for j, c in enumerate(classes)
    }
    overall = recording_error_rate(proba, labels, classes)
    return NoiseReport(cleaned, keep, issues, suggested,
                       {c: float(thresholds[j]) for j, c in enumerate(classes)},
                       joint.tolist(), list(classes), per_class, overall,
                       recording_error_rates(proba, labels, classes, overall),
                       recording_error_samples(proba, classes))
