"""The story of the world: deploys, Linear issues, billing timelines, anomaly episodes, and the
plan of every ticket (who files it, when, and why).

Everything is decided here, before anything is written, in compact Python records; the traffic
writer turns `Effect`s into request rows, the vendor writers turn the records into objects.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from altor_sim.world.common import DAY, HOUR, MINUTE
from altor_sim.world.company import Company, diurnal

# (status, error_code) pools per kind of trouble
INCIDENT_CODES = [(502, "bad_gateway"), (503, "service_unavailable"), (504, "gateway_timeout")]
REGRESSION_CODES = [
    "internal_error",
    "serialization_failed",
    "upstream_contract_error",
    "unexpected_null_field",
    "handler_panic",
]
BUG_CODES = [
    (422, "invalid_cursor"),
    (422, "unsupported_field"),
    (409, "idempotency_conflict"),
    (500, "encoding_error"),
    (400, "invalid_date_range"),
    (422, "currency_mismatch"),
    (500, "pagination_overflow"),
    (409, "duplicate_key"),
    (422, "schema_mismatch"),
]
CI_CODES = [
    (401, "invalid_api_key"),
    (401, "api_key_revoked"),
    (400, "invalid_request"),
    (400, "malformed_json"),
    (422, "validation_failed"),
    (422, "missing_required_field"),
]
NOVEL_CODES = [(500, "internal_error"), (504, "gateway_timeout"), (500, "state_conflict")]
DECLINES = [
    ("card_declined", "generic_decline", "Your card was declined."),
    ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ("expired_card", "expired_card", "Your card has expired."),
    ("card_declined", "do_not_honor", "Your card was declined."),
    ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    ("processing_error", "processing_error", "An error occurred while processing your card."),
]


@dataclass(slots=True)
class Effect:
    """A change to request traffic. kind: prob (re-status a share of matching rows), extra (add
    rows at `rate` per minute), suspend (402 for every row of the org)."""

    t0: int
    t1: int
    kind: str
    orgs: np.ndarray | None = None
    eps: np.ndarray | None = None
    status: int = 200
    code: str | None = None
    p: float = 1.0
    lat: float = 1.0
    rate: float = 0.0
    duty: float = 1.0


@dataclass(slots=True)
class Deploy:
    t: int
    service: int
    kind: str  # routine | bad | revert | fix
    message: str
    files: list[str]
    id: int = 0
    sha: str = ""
    version: str = ""
    author: str = ""


@dataclass(slots=True)
class Issue:
    created: int
    title: str
    description: str
    kind: str  # bug | feature | chore | improvement
    priority: int
    states: list[tuple[int, str]]  # (time, state key) after creation
    labels: list[str]
    identifier: str = ""
    id: str = ""


@dataclass(slots=True)
class Invoice:
    org: int
    t: int
    amount: int
    reason: str  # subscription_cycle | manual
    period: tuple[int, int]
    charges: list[tuple[int, bool, int]] = field(default_factory=list)  # (t, ok, decline idx)
    final: str = "paid"  # paid | open | uncollectible
    id: str = ""
    charge_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Episode:
    id: str
    cause: str
    t0: int
    t1: int
    service: int = -1
    eps: list[int] = field(default_factory=list)
    orgs: list[int] = field(default_factory=list)
    status: int = 0
    code: str | None = None
    lat: float = 1.0
    deploy: Deploy | None = None
    revert: Deploy | None = None
    issue: Issue | None = None
    invoice: Invoice | None = None
    sub_state: str = ""
    note: str = ""


@dataclass(slots=True)
class TicketPlan:
    t: int
    org: int
    cause: str
    ep: Episode | None
    endpoint: int = -1
    status: int = 0
    code: str | None = None
    slow: bool = False
    misroute_to: str = ""
    odd: bool = False
    user: int = 0


@dataclass(slots=True)
class Quota:
    """Tickets one kind of episode still has to make, and the draws left to make them: the
    episode writers draw until `target` tickets are made or `tries` draws are spent."""

    target: int
    tries: int
    made: int = 0
    drawn: int = 0

    @property
    def left(self) -> int:
        return self.target - self.made

    def draw(self) -> bool:
        """One more draw, unless the target is met or the draws are spent."""
        if self.made >= self.target or self.drawn >= self.tries:
            return False
        self.drawn += 1
        return True


class Story:
    """All decisions about the world's history. Build with `Story.build(...)`."""

    def __init__(self, c: Company, seed: int, start: int, end: int) -> None:
        self.c, self.seed, self.start, self.end = c, seed, start, end
        self.deploys: list[Deploy] = []
        self.issues: list[Issue] = []
        self.invoices: list[Invoice] = []
        self.episodes: list[Episode] = []
        self.tickets: list[TicketPlan] = []
        self.effects_by_day: dict[int, list[Effect]] = defaultdict(list)
        self.sub_events: dict[int, list[tuple[int, str]]] = defaultdict(list)  # org -> (t, status)
        self.busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.blackout: dict[int, list[tuple[int, int]]] = defaultdict(list)  # service -> windows
        self.past_due: list[tuple[int, int, int]] = []  # (org, t0, t1)
        self.past_due_by_org: dict[int, list[tuple[int, int]]] = defaultdict(list)
        n_ep = len(c.endpoints)
        # Zoo knobs (generator.WorldParams); the defaults leave the demo world as it always was.
        self.codes: dict[str, str] = {}  # default error code -> this company's name for it
        self.quiet_floor = 0.0  # weight of a customer with no traffic when picking who asks
        self.vague_share: float | None = None
        self.limits_in = "both"  # Stripe objects carrying the plan limits: price|product|both
        self.label_noise = 0.10
        self.field_id = 0
        self.has_zd = np.array([z is not None for z in c.org_zd_id])
        self.ep_users = [np.flatnonzero(c.org_mix[:, e] > 0) for e in range(n_ep)]

    # ---- helpers -------------------------------------------------------------------------
    def code_name(self, code: str | None) -> str | None:
        """The company's own name for an error code of the story (identity by default)."""
        return self.codes.get(code, code) if code else code

    def add_effect(self, e: Effect) -> None:
        lo = max(e.t0, self.start)
        hi = min(e.t1, self.end)
        if hi <= lo:
            return
        for d in range((lo - self.start) // DAY, (hi - 1 - self.start) // DAY + 1):
            self.effects_by_day[d].append(e)

    def add_org_effect(self, o: int, t0: int, t1: int, kind: str, **effect) -> None:
        """An effect on one customer's traffic from t0 to t1 (`Effect`'s other fields)."""
        self.add_effect(Effect(t0, t1, kind, orgs=np.array([o]), **effect))

    def active(self, o: int, t: int) -> bool:
        c = self.c
        return bool(c.org_created[o] + DAY <= t < c.org_end[o] - HOUR)

    def is_free(self, o: int, t0: int, t1: int) -> bool:
        return all(t1 <= a or t0 >= b for a, b in self.busy[o])

    def in_past_due(self, o: int, t0: int, t1: int) -> bool:
        return any(not (t1 <= a or t0 >= b) for a, b in self.past_due_by_org[o])

    def ep_rate(self, o: int, e: int, t: int, rpm: float) -> float:
        """Expected requests per hour of org o on endpoint e around time t."""
        return float(rpm * self.c.org_share[o] * self.c.org_mix[o, e] * 60 * diurnal(t))

    def sample_time(self, rng: np.random.Generator, lo: int, hi: int, business: bool = True) -> int:
        for _ in range(50):
            t = int(rng.integers(lo, max(lo + 1, hi)))
            if not business:
                return t
            if rng.random() < diurnal(t) / 1.8:
                return t
        return t

    def visible(
        self,
        o: int,
        e: int,
        status: int,
        code: str | None,
        lat: float,
        t_lo: int,
        t: int,
        rng: np.random.Generator,
    ) -> None:
        """Make sure the ticket's org shows the symptom in its own logs before the ticket."""
        self.add_effect(
            Effect(
                max(t_lo, t - 90 * MINUTE),
                t + 10 * MINUTE,
                "extra",
                orgs=np.array([o]),
                eps=np.array([e]),
                status=status,
                code=code,
                lat=lat,
                rate=float(rng.uniform(0.6, 1.6)),
            )
        )

    def delay(self, rng: np.random.Generator, lo: int = 5 * MINUTE, hi: int = 4 * HOUR) -> int:
        return int(np.clip(rng.lognormal(np.log(45 * MINUTE), 0.8), lo, hi))
