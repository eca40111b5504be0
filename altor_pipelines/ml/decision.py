"""The decision, per cause: deliver a cause where its own precision meets the target, by the
model (its calibrated probability above the cause's threshold) or by the heuristic rule that
names it, whichever finds more of it at that precision; abstain on the causes whose target no
one reaches. Abstaining is an outcome (the ticket escalates as uncertain/novel), not an error.

Everything here is estimated on out-of-fold predictions (each labelled ticket scored by a model
that did not train on it) against the help desk's *recorded* causes, and converted to
precision against the true cause through the estimated recording-error rate η: a set of
diagnoses that is π right agrees with its records

    a = π (1 − η) + (1 − π) η / (K − 1)

of the time (a wrong diagnosis agrees with a wrong record when the record happens to name it),
so π = (a − η/(K−1)) / (1 − η − η/(K−1)).

Few labels per cause (60–80 on a small help desk) make per-cause estimates noisy, so each is
smoothed: the record agreement gets a Beta prior centred on the *pooled* agreement (every
cause's deliveries at the same threshold, or every rule's) worth `prior_strength` tickets, and
the decision can use a lower bound (posterior mean − z · its standard deviation) instead of the
mean; the zoo says z = 0: the prior already does the shrinking.
docs/classifier.md explains the choices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from altor_pipelines.taxonomy import action_for

MEDIUM_FLOOR = 0.5  # below the threshold but more likely than every other cause together
MODEL, RULE, ABSTAIN = "model", "rule", "abstain"


@dataclass(frozen=True)
class DecisionConfig:
    target_precision: float = 0.95  # against the true cause
    min_delivered: int = 10  # out-of-fold tickets a cause's estimate must rest on
    prior_strength: float = 5.0  # pseudo-tickets of the pooled agreement in each estimate
    # decide on mean − z·sd; 0 (the smoothed mean) on every world of the zoo beat 0.5, whose
    # thresholds sat in the tail the served model rarely reaches (docs/classifier.md)
    z: float = 0.0
    # read a cause's recording-error rate as at least the overall one. Measured on the ~15 most
    # confident predictions of the cause, a rate under the overall is as often sampling noise as
    # a cleaner cause, and it makes the cause stricter: on the zoo that switched whole causes off
    # (docs/classifier.md, "A cause's error rate, never under the help desk's")
    rates_at_least_overall: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_DECISION = DecisionConfig()
# settings added after models were registered, and their value before: a stored config without
# one was chosen without it
_ADDED_SETTINGS = {"rates_at_least_overall": False}


def _stored_config(d: Mapping[str, Any]) -> DecisionConfig:
    known = {f for f in DecisionConfig.__dataclass_fields__}
    return DecisionConfig(**(_ADDED_SETTINGS | {k: v for k, v in d.items() if k in known}))


def true_precision(agreement: float, error_rate: float, n_causes: int) -> float:
    """Precision against the true cause of a set whose records agree `agreement` of the time
    (the channel of the module docstring); clipped to [0, 1]."""
    wrong_hit = error_rate / max(n_causes - 1, 1)
    denom = 1.0 - error_rate - wrong_hit
    if denom <= 0:
        return 0.0
    return float(min(1.0, max(0.0, (agreement - wrong_hit) / denom)))


def smoothed_agreement(agreeing: int, delivered: int, pooled: float,
                       config: DecisionConfig = DEFAULT_DECISION) -> tuple[float, float]:
    """(posterior mean, lower bound) of a record agreement of `agreeing` out of `delivered`
    under a Beta prior with mean `pooled` and weight `config.prior_strength` tickets."""
    m = config.prior_strength
    n = delivered + m
    if n <= 0:
        return 0.0, 0.0
    mean = (agreeing + m * pooled) / n
    sd = math.sqrt(max(mean * (1.0 - mean), 0.0) / (n + 1.0))
    return mean, max(0.0, mean - config.z * sd)


@dataclass(frozen=True)
class Option:
    """One way of delivering a cause (the model above a threshold, or its rule), as estimated on
    the out-of-fold tickets."""

    source: str  # model | rule
    feasible: bool
    delivered: int  # out-of-fold tickets it delivers as this cause
    agreeing: int  # of them, recorded as this cause
    estimated_precision: float  # against truth, from the smoothed lower bound
    mean_precision: float  # against truth, from the smoothed mean (reported)
    threshold: float | None = None  # model only: the lowest probability delivered

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CauseDecision:
    cause: str
    decided_by: str  # model | rule | abstain
    threshold: float | None  # the model's, when it decides
    estimated_precision: float | None  # of the deliveries of this cause (None: abstained)
    model: Option | None
    rule: Option | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"cause": self.cause, "decided_by": self.decided_by, "threshold": self.threshold,
                "estimated_precision": self.estimated_precision, "reason": self.reason,
                "model": self.model.to_dict() if self.model else None,
                "rule": self.rule.to_dict() if self.rule else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CauseDecision:
        return cls(d["cause"], d["decided_by"], d.get("threshold"), d.get("estimated_precision"),
                   Option(**d["model"]) if d.get("model") else None,
                   Option(**d["rule"]) if d.get("rule") else None, d.get("reason", ""))


def _estimate(source: str, delivered: int, agreeing: int, pooled: float, error_rate: float,
              n_causes: int, config: DecisionConfig, threshold: float | None = None) -> Option:
    mean, low = smoothed_agreement(agreeing, delivered, pooled, config)
    est = true_precision(low, error_rate, n_causes)
    feasible = delivered >= config.min_delivered and est >= config.target_precision
    return Option(source, feasible, int(delivered), int(agreeing), round(est, 4),
                  round(true_precision(mean, error_rate, n_causes), 4), threshold)


def model_option(proba: np.ndarray, recorded: np.ndarray, j: int, error_rate: float,
                 config: DecisionConfig = DEFAULT_DECISION) -> Option:
    """The model's best way to deliver cause `j`: the lowest threshold t such that the tickets
    whose top cause is `j` with probability ≥ t reach the target (smoothed toward the pooled
    agreement of every cause's tickets at ≥ t). Infeasible: the option at the highest threshold
    that delivers `min_delivered` tickets (or none), for the record."""
    p = np.asarray(proba, dtype=float)
    rec = np.asarray(recorded, dtype=int)
    k = p.shape[1]
    top = p.argmax(axis=1)
    top_p = p[np.arange(len(p)), top]
    agree_all = top == rec
    mine = top == j
    candidates = np.unique(top_p[mine])[::-1]  # descending
    best: Option | None = None
    shown: Option | None = None
    for t in candidates:
        pool = top_p >= t
        pooled = float(agree_all[pool].mean())
        sel = mine & pool
        opt = _estimate(MODEL, int(sel.sum()), int((rec[sel] == j).sum()), pooled, error_rate,
                        k, config, float(t))
        if opt.feasible:
            best = opt  # thresholds descend: the last feasible one is the lowest
        elif shown is None and opt.delivered >= config.min_delivered:
            shown = opt
    if best is not None:
        return best
    if shown is not None:
        return shown
    return Option(MODEL, False, int(mine.sum()), int((rec[mine] == j).sum()), 0.0, 0.0, None)


def rule_option(rule_cause: np.ndarray, recorded: np.ndarray, j: int, error_rate: float,
                n_causes: int, among: np.ndarray | None = None,
                config: DecisionConfig = DEFAULT_DECISION) -> Option:
    """The rule's way to deliver cause `j`: every ticket (among `among`, default all) whose best
    rule cause is `j` (`rule_cause` holds cause indices, −1 where no rule fired), smoothed
    toward the agreement of every rule that fired."""
    rc = np.asarray(rule_cause, dtype=int)
    rec = np.asarray(recorded, dtype=int)
    among = np.ones(len(rc), bool) if among is None else np.asarray(among, bool)
    fired = (rc >= 0) & among
    pooled = float((rc[fired] == rec[fired]).mean()) if fired.any() else 0.0
    sel = (rc == j) & among
    return _estimate(RULE, int(sel.sum()), int((rec[sel] == j).sum()), pooled, error_rate,
                     n_causes, config)


def _choose(cause: str, model: Option, rule: Option) -> CauseDecision:
    """Model when it is feasible and finds more of the cause than a feasible rule; else the rule
    when feasible; else abstain. A tie goes to the rule (nothing learned to drift)."""
    if model.feasible and (not rule.feasible or model.agreeing > rule.agreeing):
        why = ("the model reaches the target" if not rule.feasible else
               f"the model finds more ({model.agreeing} vs {rule.agreeing}) at the target")
        return CauseDecision(cause, MODEL, model.threshold, model.estimated_precision, model,
                             rule, why)
    if rule.feasible:
        why = ("the model does not reach the target" if not model.feasible else
               f"the model finds no more ({model.agreeing} vs {rule.agreeing})")
        return CauseDecision(cause, RULE, None, rule.estimated_precision, model, rule, why)
    return CauseDecision(cause, ABSTAIN, None, None, model, rule,
                         "neither the model nor the rule reaches the target")


@dataclass(frozen=True)
class Decided:
    """The decisions for a set of tickets, as arrays (one entry per ticket)."""

    top: np.ndarray  # int: model's most probable cause
    top_probability: np.ndarray
    cause: np.ndarray  # int: delivered cause, −1 when abstained
    decided_by: np.ndarray  # object: model | rule | abstain
    estimated_precision: np.ndarray  # float, nan when abstained
    threshold: np.ndarray  # float, nan when no model threshold applies

    @property
    def delivered(self) -> np.ndarray:
        return self.cause >= 0


@dataclass(frozen=True)
class DecisionPolicy:
    """Per-cause decisions, as chosen by `choose_policy` (or read back from a model's
    metadata)."""

    classes: list[str]
    causes: dict[str, CauseDecision]
    target_precision: float
    error_rate: float
    config: DecisionConfig = field(default_factory=DecisionConfig)
    validation: dict[str, Any] = field(default_factory=dict)
    # the recording-error rate each cause's precision was read through (absent: `error_rate`);
    # the joint estimate in `validation` reads each cause through the same one
    error_rates: dict[str, float] = field(default_factory=dict)

    def rate(self, cause: str) -> float:
        return self.error_rates.get(cause, self.error_rate)

    def by(self, source: str) -> list[str]:
        return [c for c in self.classes if self.causes[c].decided_by == source]

    def apply(self, proba: np.ndarray, rule_cause: np.ndarray) -> Decided:
        """The model delivers its top cause where that cause is the model's and the probability
        clears its threshold; otherwise the rule delivers its cause where that cause is the
        rule's; otherwise abstain."""
        p = np.asarray(proba, dtype=float)
        rc = np.asarray(rule_cause, dtype=int)
        n, k = p.shape
        top = p.argmax(axis=1) if n else np.zeros(0, int)
        top_p = p[np.arange(n), top]
        thr = np.full(k, np.nan)
        est = np.full(k, np.nan)
        rule_ok = np.zeros(k, bool)
        for j, c in enumerate(self.classes):
            d = self.causes[c]
            if d.decided_by == MODEL and d.threshold is not None:
                thr[j] = d.threshold
            if d.decided_by == RULE:
                rule_ok[j] = True
            if d.estimated_precision is not None:
                est[j] = d.estimated_precision
        by_model = ~np.isnan(thr[top]) & (top_p >= np.nan_to_num(thr[top], nan=np.inf))
        by_rule = ~by_model & (rc >= 0) & rule_ok[np.maximum(rc, 0)]
        cause = np.where(by_model, top, np.where(by_rule, rc, -1))
        source = np.where(by_model, MODEL, np.where(by_rule, RULE, ABSTAIN)).astype(object)
        precision = np.where(cause >= 0, est[np.maximum(cause, 0)], np.nan)
        return Decided(top, top_p, cause, source, precision, thr[top])

    def to_dict(self) -> dict[str, Any]:
        return {"policy": "per_cause", "target_precision": self.target_precision,
                "error_rate": self.error_rate, "config": self.config.to_dict(),
                "error_rates": {c: round(v, 6) for c, v in self.error_rates.items()},
                "model_causes": self.by(MODEL), "rule_causes": self.by(RULE),
                "abstained_causes": self.by(ABSTAIN),
                "causes": {c: self.causes[c].to_dict() for c in self.classes},
                "validation": self.validation}

    @classmethod
    def from_dict(cls, d: dict[str, Any], classes: list[str],
                  chosen_rates: Mapping[str, float] | None = None) -> DecisionPolicy:
        """From a model's `metadata.json` `decision`; a model registered with one global
        threshold (before per-cause decisions) reads as every cause decided by the model at
        that threshold, or every cause abstaining when it had none. A policy stored before its
        `error_rates` were kept reads them from `chosen_rates` (the noise summary's per-cause
        rates it was chosen with), else the overall rate; a stored config lacking a later
        setting has it off, as it was chosen."""
        if d.get("policy") != "per_cause":
            t = d.get("threshold")
            causes = {c: CauseDecision(c, MODEL if t is not None else ABSTAIN, t, None, None,
                                       None, "one global threshold") for c in classes}
            return cls(list(classes), causes, float(d.get("target_precision", 0.95)), 0.0)
        cfg = _stored_config(d["config"]) if d.get("config") else DecisionConfig()
        causes = {c: CauseDecision.from_dict(d["causes"][c]) if c in d["causes"]
                  else CauseDecision(c, ABSTAIN, None, None, None, None, "unknown cause")
                  for c in classes}
        rates = d.get("error_rates") or chosen_rates or {}
        return cls(list(classes), causes, float(d["target_precision"]),
                   float(d.get("error_rate", 0.0)), cfg, dict(d.get("validation", {})),
                   {c: float(v) for c, v in rates.items()})

    def rules_only(self) -> DecisionPolicy:
        """The same decisions with the model taken out: the causes whose rule reaches the target
        are delivered by the rule, the rest abstain (what the rules alone deliver)."""
        causes = {}
        for c, d in self.causes.items():
            if d.rule is not None and d.rule.feasible:
                causes[c] = CauseDecision(c, RULE, None, d.rule.estimated_precision, None,
                                          d.rule, "rules alone")
            else:
                causes[c] = CauseDecision(c, ABSTAIN, None, None, None, d.rule, "rules alone")
        return replace(self, causes=causes, validation={})


def choose_policy(proba: np.ndarray, recorded: np.ndarray, rule_cause: np.ndarray,
                  classes: list[str], error_rate: float,
                  config: DecisionConfig = DEFAULT_DECISION,
                  error_rates: Mapping[str, float] | None = None) -> DecisionPolicy:
    """Per-cause decisions from out-of-fold probabilities `proba`, the recorded cause indices
    and the rules' cause indices (−1: no rule fired) of the same tickets. A cause's precision
    is read through its own recording-error rate (`error_rates`, noise.recording_error_rates)
    when given, at least the overall `error_rate` (`config.rates_at_least_overall`), else
    through the overall `error_rate`.

    1. per cause, the model's lowest feasible threshold and the rule's estimate on all tickets;
    2. per cause, the model or the rule (`_choose`), or abstain;
    3. the rules only get the tickets the model did not deliver, so a rule's estimate is
       redone on those; a rule that no longer reaches the target abstains.
    The joint result on the same tickets is kept in `validation`."""
    p = np.asarray(proba, dtype=float)
    rec = np.asarray(recorded, dtype=int)
    rc = np.asarray(rule_cause, dtype=int)
    k = len(classes)
    eta = {c: (error_rates or {}).get(c, error_rate) for c in classes}
    if config.rates_at_least_overall:
        eta = {c: max(rate, error_rate) for c, rate in eta.items()}
    models = {c: model_option(p, rec, j, eta[c], config) for j, c in enumerate(classes)}
    rules = {c: rule_option(rc, rec, j, eta[c], k, None, config)
             for j, c in enumerate(classes)}
    causes = {c: _choose(c, models[c], rules[c]) for c in classes}
    policy = DecisionPolicy(list(classes), causes, config.target_precision, error_rate, config,
                            error_rates=eta)
    left = ~policy.apply(p, np.full(len(rec), -1)).delivered
    for j, c in enumerate(classes):
        if causes[c].decided_by != RULE:
            continue
        again = rule_option(rc, rec, j, eta[c], k, left, config)
        if not again.feasible:
            causes[c] = CauseDecision(c, ABSTAIN, None, None, models[c], rules[c],
                                      f"the rule misses the target on the tickets the model "
                                      f"leaves (estimated {again.estimated_precision:.3f} on "
                                      f"{again.delivered})")
        else:
            causes[c] = replace(causes[c], estimated_precision=again.estimated_precision)
    policy = replace(policy, causes=causes)
    return replace(policy, validation=summarise(policy, p, rec, rc))


def summarise(policy: DecisionPolicy, proba: np.ndarray, recorded: np.ndarray,
              rule_cause: np.ndarray) -> dict[str, Any]:
    """Delivered share and precision (recorded, and against truth) of the policy on tickets
    with known recorded causes. The precision against truth reads each delivered cause's
    agreement through the same rate its decision was made with (`DecisionPolicy.rate`) and
    weighs the causes by their deliveries (it is raw, where each cause's own estimate is
    smoothed toward the pooled agreement). `estimated_precision_overall_rate` reads the pooled
    agreement through the overall rate alone: a floored cause's rate only ever raises the
    estimate, and the gap shows by how much."""
    d = policy.apply(proba, rule_cause)
    rec = np.asarray(recorded, dtype=int)
    n = len(rec)
    delivered = d.delivered
    agree = int((d.cause[delivered] == rec[delivered]).sum())
    a = agree / delivered.sum() if delivered.any() else 0.0
    right = 0.0
    for j, c in enumerate(policy.classes):
        mine = d.cause == j
        if mine.any():
            right += mine.sum() * true_precision(float((rec[mine] == j).mean()), policy.rate(c),
                                                 len(policy.classes))
    return {"tickets": int(n), "delivered": int(delivered.sum()),
            "delivered_share": round(float(delivered.mean()) if n else 0.0, 4),
            "by_model": int((d.decided_by == MODEL).sum()),
            "by_rule": int((d.decided_by == RULE).sum()),
            "recorded_agreement": round(float(a), 4),
            "estimated_precision": round(float(right / delivered.sum()), 4)
            if delivered.any() else None,
            "estimated_precision_overall_rate": round(
                true_precision(a, policy.error_rate, len(policy.classes)), 4)
            if delivered.any() else None}


def precision_coverage_curve(
    top_proba: np.ndarray, correct: np.ndarray
) -> dict[str, np.ndarray]:
    """For each distinct probability t (descending): precision, coverage and expected precision
    (mean top probability: what the calibrated model itself expects) of delivering the tickets
    whose top probability is ≥ t (the notebook's precision–coverage plot)."""
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


def confidence_band(top_probability: float, delivered: bool) -> str:
    """high: delivered; medium: abstained but ≥ 0.5; low: the rest."""
    if delivered:
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
    decided_by: str = ABSTAIN
    estimated_precision: float | None = None


def decisions(policy: DecisionPolicy, proba: np.ndarray, rule_cause: np.ndarray
              ) -> list[Decision]:
    """One `Decision` per row (what the help desk is asked to do)."""
    d = policy.apply(proba, rule_cause)
    out = []
    for i in range(len(d.top)):
        cause = policy.classes[d.cause[i]] if d.cause[i] >= 0 else None
        action = action_for(cause)
        est = d.estimated_precision[i]
        out.append(Decision(policy.classes[d.top[i]], float(d.top_probability[i]), cause,
                            cause is None, action == "escalate", action,
                            confidence_band(float(d.top_probability[i]), cause is not None),
                            str(d.decided_by[i]), None if np.isnan(est) else float(est)))
    return out
