"""Shared pieces of the world generator: cause mix, time helpers, seeded RNGs, jsonl writers.
The causes themselves are the product's taxonomy (altor_pipelines/taxonomy.py)."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

# Default cause mix of tickets (shares of all tickets).
DEFAULT_MIX = {
    "how_to": 0.25,
    "customer_integration": 0.14,
    "plan_limit": 0.11,
    "billing_issue": 0.10,
    "known_bug": 0.11,
    "platform_incident": 0.09,
    "deploy_regression": 0.08,
    "misrouted": 0.06,
    "novel": 0.06,
}
# Probability that a pre-go-live ticket of this cause is escalated to Engineering. Tuned so that
# escalations split ~71% system-access / ~16% novel / ~12% misrouted at ~29% escalation rate.
ESCALATION_P = {
    "deploy_regression": 0.85,
    "known_bug": 0.50,
    "platform_incident": 0.35,
    "customer_integration": 0.25,
    "plan_limit": 0.15,
    "billing_issue": 0.05,
    "how_to": 0.0,
    "misrouted": 0.60,
    "novel": 0.78,
}

DAY = 86400
HOUR = 3600
MINUTE = 60


def parse_iso(s: str) -> int:
    """ISO 8601 (with Z or offset, optional fraction) -> Unix seconds (int, floor)."""
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def iso(ts: float) -> str:
    """Unix seconds -> `YYYY-MM-DDTHH:MM:SSZ`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts)))


def iso_ms(ts: float) -> str:
    """Unix seconds -> Linear-style `YYYY-MM-DDTHH:MM:SS.000Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(ts)))


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent, reproducible generator for one component (and e.g. one day)."""
    return np.random.default_rng([seed, *keys])


def hexid(rng: np.random.Generator, n: int) -> str:
    alphabet = "0123456789abcdef"
    return "".join(alphabet[i] for i in rng.integers(0, 16, n))


def b62id(rng: np.random.Generator, n: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(alphabet[i] for i in rng.integers(0, 62, n))


class Jsonl:
    """Append-only writer of versioned lines `{"at": ..., "object": {...}}`, buffered."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._f = path.open("w", encoding="utf-8", newline="\n")
        self._buf: list[str] = []
        self.lines = 0

    def write(self, at: float | str, obj: dict[str, Any], deleted: bool = False) -> None:
        row: dict[str, Any] = {"at": at if isinstance(at, str) else iso(at), "object": obj}
        if deleted:
            row["deleted"] = True
        self._buf.append(json.dumps(row, separators=(",", ":"), ensure_ascii=False))
        self.lines += 1
        if len(self._buf) >= 2000:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            self._f.write("\n".join(self._buf) + "\n")
            self._buf.clear()

    def close(self) -> None:
        self.flush()
        self._f.close()


# The jsonl files of a world, per vendor (altor-world/1).
LAYOUT = {
    "zendesk": (
        "organizations",
        "users",
        "groups",
        "ticket_fields",
        "tickets",
        "ticket_comments",
        "ticket_metrics",
    ),
    "stripe": ("products", "prices", "customers", "subscriptions", "invoices", "charges"),
    "linear": ("teams", "workflow_states", "labels", "issues"),
    "github": ("deployments", "deployment_statuses", "releases", "commits"),
}


class Writers:
    """Every jsonl file of a world, opened once, closed together."""


    def __init__(self, root: Path) -> None:
        self.w: dict[str, Jsonl] = {}
        for vendor, names in LAYOUT.items():
            for name in names:
                self.w[f"{vendor}/{name}"] = Jsonl(root / vendor / f"{name}.jsonl")

    def __getitem__(self, key: str) -> Jsonl:
        return self.w[key]

    def close(self) -> None:
        for j in self.w.values():
            j.close()


class PyRng(random.Random):
    """The few numpy-Generator methods the ticket writer uses, on Python's fast Mersenne Twister
    (numpy's per-call overhead dominates when drawing a handful of numbers per ticket)."""

    def integers(self, lo: int, hi: int | None = None) -> int:
        if hi is None:
            lo, hi = 0, lo
        return self.randrange(int(lo), int(hi)) if hi > lo else int(lo)

    def choice(self, seq, p=None):  # type: ignore[override]
        if isinstance(seq, int):
            seq = range(seq)
        if p is None:
            return seq[self.randrange(len(seq))]
        return self.choices(seq, weights=list(p))[0]

    def lognormal(self, mean: float, sigma: float) -> float:
        return self.lognormvariate(mean, sigma)
