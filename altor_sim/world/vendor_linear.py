"""Writing Linear's workflow states, labels and issues (versioned) from a finished `Story`."""

from __future__ import annotations

from altor_sim.world.common import (
    DAY,
    Writers,
    iso,
    iso_ms,
    rng_for,
)
from altor_sim.world.episodes import Story

STATES = [
    ("backlog", "Backlog", "backlog", "#bec2c8"),
    ("unstarted", "Todo", "unstarted", "#e2e2e2"),
    ("started", "In Progress", "started", "#f2c94c"),
    ("review", "In Review", "started", "#5e6ad2"),
    ("completed", "Done", "completed", "#5e6ad2"),
    ("canceled", "Canceled", "canceled", "#95a2b3"),
    ("duplicate", "Duplicate", "canceled", "#95a2b3"),
]
LABELS = ["Bug", "Feature", "Chore", "Improvement", "customer-reported", "internal", "Incident"]


def write_linear(s: Story, w: Writers, workspace: str) -> None:
    rng = rng_for(s.seed, 60)
    t0 = s.start - 400 * DAY
    team = {"id": "7e1c4a52-0b7d-4c55-9f3a-1f0e8d7c6b51", "key": "ENG", "name": "Engineering"}
    w["linear/teams"].write(
        iso(t0),
        {
            **team,
            "description": "Product engineering",
            "private": False,
            "createdAt": iso_ms(t0),
            "updatedAt": iso_ms(t0),
        },
    )
    sid = {}
    for i, (key, name, typ, color) in enumerate(STATES):
        sid[key] = (f"5a7d0c3e-{i:04d}-4b1e-8a2f-{rng.integers(16**12):012x}", name, typ)
        w["linear/workflow_states"].write(
            iso(t0),
            {
                "id": sid[key][0],
                "name": name,
                "type": typ,
                "color": color,
                "position": float(i),
                "team": {"id": team["id"]},
                "createdAt": iso_ms(t0),
                "updatedAt": iso_ms(t0),
            },
        )
    lid = {}
    for i, name in enumerate(LABELS):
        lid[name] = f"9c3b2a10-{i:04d}-4d2c-9e1f-{rng.integers(16**12):012x}"
        w["linear/labels"].write(
            iso(t0),
            {
                "id": lid[name],
                "name": name,
                "color": "#eb5757",
                "createdAt": iso_ms(t0),
                "updatedAt": iso_ms(t0),
            },
        )
    for iss in s.issues:
        if iss.created >= s.end:
            continue
        first_state = (
            "unstarted" if iss.kind == "bug" else str(rng.choice(["backlog", "unstarted"]))
        )
        versions = [(iss.created, first_state)] + [(t, st) for t, st in iss.states if t < s.end]
        completed = canceled = None
        for t, st in versions:
            if st == "completed":
                completed = iso_ms(t)
            if st == "canceled":
                canceled = iso_ms(t)
            sidx = sid[st]
            w["linear/issues"].write(
                iso(t),
                {
                    "id": iss.id,
                    "identifier": iss.identifier,
                    "number": int(iss.identifier.split("-")[1]),
                    "title": iss.title,
                    "description": iss.description,
                    "priority": iss.priority,
                    "createdAt": iso_ms(iss.created),
                    "updatedAt": iso_ms(t),
                    "completedAt": completed,
                    "canceledAt": canceled,
                    "startedAt": None,
                    "state": {"id": sidx[0], "name": sidx[1], "type": sidx[2]},
                    "team": {"id": team["id"], "key": "ENG"},
                    "labels": {"nodes": [{"id": lid[x], "name": x} for x in iss.labels]},
                    "url": f"https://linear.app/{workspace}/issue/{iss.identifier}",
                },
            )
