"""Simulated support agents for the demo's live period. They are part of the simulated world,
not of the pipeline: this is the ONLY module of the delivery package that reads a world's
`truth/` (to judge whether a note was right, as a real agent eventually finds out).

An agent picks a new ticket up some minutes after it arrives (as the seed's agents do) and:
- a delivered (high-confidence) diagnosis whose cause is the true one: resolved at first
  contact: one public reply (the note's recommended reply), solved, root-cause field set;
  when the cause needs engineering (should_escalate), escalated at once to an engineering
  group and solved there later;
- a delivered but wrong diagnosis: half the time the agent follows it (reply, solved with
  the wrong cause) and the customer reopens it, which then goes to engineering; otherwise the
  agent sees it does not fit and escalates at once;
- no delivered diagnosis (abstained, or no note): the pre-go-live behaviour: escalated with
  the probability past tickets of that cause were escalated before go-live (measured from
  the warehouse), else solved at first contact with the measured one-touch probability, else
  a first reply and a solve later.
Every action is a ticket update (PUT) on the help-desk server at the world clock.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.delivery.note import MARKER
from altor_sim.world.replies import ENG_NOTES, FIRST_REPLIES, SOLVE_REPLIES

HISTORY_SQL = """
WITH eng AS (SELECT group_id FROM staging.stg_zendesk__groups WHERE is_engineering),
esc AS (
    SELECT DISTINCT ticket_id FROM staging.stg_zendesk__ticket_field_history
    WHERE field_name = 'group_id' AND TRY_CAST(value AS BIGINT) IN (SELECT group_id FROM eng)
),
agent_public AS (
    SELECT c.ticket_id, count(*) AS n
    FROM staging.stg_zendesk__ticket_comments AS c
    JOIN staging.stg_zendesk__tickets AS t USING (ticket_id)
    WHERE c.is_public AND c.author_id <> t.requester_id
    GROUP BY c.ticket_id
)
SELECT t.recorded_root_cause AS cause, count(*) AS n,
       avg(CASE WHEN e.ticket_id IS NOT NULL THEN 1.0 ELSE 0.0 END) AS p_escalate,
       avg(CASE WHEN e.ticket_id IS NULL AND coalesce(a.n, 0) = 1 THEN 1.0 ELSE 0.0 END)
           AS p_one_touch
FROM staging.stg_zendesk__tickets AS t
LEFT JOIN esc AS e USING (ticket_id)
LEFT JOIN agent_public AS a USING (ticket_id)
WHERE t.recorded_root_cause IS NOT NULL AND t.created_at < CAST($go_live AS TIMESTAMP)
  AND lower(t.status) IN ('solved', 'closed')
GROUP BY t.recorded_root_cause
"""


def historical_behaviour(
    con: duckdb.DuckDBPyConnection, go_live: datetime
) -> dict[str, dict[str, float]]:
    """cause -> {p_escalate, p_one_touch} of resolved tickets created before go-live."""
    rows = con.execute(HISTORY_SQL, {"go_live": go_live.replace(tzinfo=None)}).fetchall()
    return {
        c: {"p_escalate": float(pe), "p_one_touch": float(po), "n": int(n)} for c, n, pe, po in rows
    }


@dataclass(order=True)
class _Action:
    due: datetime
    ticket_id: int
    kind: str = field(compare=False)
    data: dict = field(default_factory=dict, compare=False)


class SimulatedAgents:
    def __init__(
        self,
        world_dir: Path | str,
        client: Any,
        behaviour: dict[str, dict[str, float]],
        *,
        seed: int = 0,
        pickup_median_minutes: float = 20.0,
    ) -> None:

        world_dir = Path(world_dir)
        meta = json.loads((world_dir / "world.json").read_text())
        self.go_live = datetime.fromisoformat(meta["go_live"].replace("Z", "+00:00"))
        self.field_id = meta["root_cause_field_id"]
        with (world_dir / "truth" / "tickets.csv").open() as f:
            self.truth = {int(r["ticket_id"]): r for r in csv.DictReader(f)}
        self.client = client
        self.behaviour = behaviour
        self.rng = random.Random(seed)
        self.pickup_median = pickup_median_minutes * 60
        self.texts = (SOLVE_REPLIES, FIRST_REPLIES, ENG_NOTES)
        self.queue: list[_Action] = []
        self.seen: set[int] = set()
        self.cursor: str | None = None
        self.actions: list[dict[str, Any]] = []
        users = self._list("/api/v2/users", "users")
        self.agents = [u["id"] for u in users if u.get("role") in ("agent", "admin")]
        groups = self._list("/api/v2/groups", "groups")
        self.engineering = [g["id"] for g in groups if "engineering" in g["name"].lower()]

    # -- help-desk reads -------------------------------------------------------------------
    def _list(self, path: str, key: str) -> list[dict]:
        out, url, params = [], path, {"per_page": 100}
        while url:
            data, _ = self.client.get_json(url, endpoint=path, params=params)
            out += data.get(key) or []
            url, params = data.get("next_page"), None
        return out

    def _new_tickets(self, now: datetime) -> list[dict]:
        if self.cursor is None and (now - self.go_live).total_seconds() < 61:
            return []
        params = (
            {"cursor": self.cursor}
            if self.cursor
            else {"start_time": int(self.go_live.timestamp())}
        )
        out = []
        while True:
            data, _ = self.client.get_json(
                "/api/v2/incremental/tickets/cursor",
                endpoint="/api/v2/incremental/tickets/cursor",
                params={**params, "per_page": 1000},
            )
            out += data.get("tickets") or []
            self.cursor = data.get("after_cursor") or self.cursor
            if data.get("end_of_stream", True) or not data.get("after_cursor"):
                return out
            params = {"cursor": data["after_cursor"]}

    def _note(self, tid: int) -> tuple[dict | None, str | None]:
        """The ticket's current state and the recommended reply of its latest Altor note."""
        data, _ = self.client.get_json(f"/api/v2/tickets/{tid}", endpoint="/api/v2/tickets/{id}")
        comments, _ = self.client.get_json(
            f"/api/v2/tickets/{tid}/comments", endpoint="/api/v2/tickets/{id}/comments"
        )
        notes = [c for c in comments.get("comments") or [] if MARKER in (c.get("body") or "")]
        reply = None
        if notes:
            body = notes[-1]["body"]
            if "Recommended reply:\n" in body:
                reply = body.split("Recommended reply:\n", 1)[1].split("\n", 1)[0].strip() or None
        return data.get("ticket"), reply

    # -- acting ------------------------------------------------------------------------------
    def _put(self, tid: int, ticket: dict, now: datetime, kind: str) -> None:
        self.client.request(
            "PUT",
            f"/api/v2/tickets/{tid}",
            endpoint="/api/v2/tickets/{id}",
            json_body={"ticket": ticket},
            record=tid,
        )
        self.actions.append({"ticket_id": tid, "kind": kind, "at": now.isoformat()})

    def _later(self, now: datetime, median_seconds: float, tid: int, kind: str, **data) -> None:
        delay = self.rng.lognormvariate(math.log(median_seconds), 0.6)
        heapq.heappush(self.queue, _Action(now + timedelta(seconds=delay), tid, kind, data))

    def _ref(self, tid: int) -> str:
        ev = self.truth.get(tid, {}).get("evidence") or ""
        return ev.split(";")[0].split(":", 1)[-1] if ev else "n/a"

    def _solve(
        self, tid: int, cause: str, now: datetime, reply: str | None, author: int, kind: str
    ) -> None:
        solve_replies = self.texts[0]
        text = reply or solve_replies.get(cause, solve_replies["novel"]).format(ref=self._ref(tid))
        self._put(
            tid,
            {
                "status": "solved",
                "assignee_id": author,
                "comment": {"body": text, "public": True, "author_id": author},
                "custom_fields": [{"id": self.field_id, "value": cause}],
            },
            now,
            kind,
        )

    def _escalate(self, tid: int, now: datetime, author: int, why: str) -> None:
        eng = self.engineering[0] if self.engineering else None
        update: dict[str, Any] = {
            "status": "open",
            "comment": {"body": why, "public": False, "author_id": author},
        }
        if eng is not None:
            update["group_id"] = eng
        self._put(tid, update, now, "escalate")
        self._later(now, 3 * 3600, tid, "engineer_solve")

    def _pick_up(self, tid: int, now: datetime) -> None:
        truth = self.truth.get(tid)
        if truth is None:
            return
        ticket, reply = self._note(tid)
        if ticket is None or ticket.get("status") in ("solved", "closed"):
            return
        tags = set(ticket.get("tags") or [])
        cause = next(
            (t.removeprefix("altor_cause_") for t in tags if t.startswith("altor_cause_")), None
        )
        delivered = cause is not None and "altor_confidence_high" in tags
        true_cause, should_escalate = truth["root_cause"], truth["should_escalate"] == "1"
        agent = self.rng.choice(self.agents)
        if delivered and cause == true_cause:
            if should_escalate:
                self._escalate(tid, now, agent, "Escalating as the Altor note says.")
            else:
                self._solve(tid, cause, now, reply, agent, "first_contact_solve")
        elif delivered:
            if self.rng.random() < 0.5:
                self._solve(tid, cause, now, reply, agent, "wrong_solve")
                self._later(now, 6 * 3600, tid, "customer_reopen")
            else:
                self._escalate(tid, now, agent, "The Altor note does not fit; escalating.")
        else:
            b = self.behaviour.get(true_cause, {"p_escalate": 0.5, "p_one_touch": 0.3})
            if self.rng.random() < b["p_escalate"]:
                self._escalate(
                    tid,
                    now,
                    agent,
                    "Escalating to engineering, I can't see what is going on from here.",
                )
            elif self.rng.random() < b["p_one_touch"] / max(1e-9, 1 - b["p_escalate"]):
                self._solve(tid, true_cause, now, None, agent, "first_contact_solve")
            else:
                first = self.rng.choice(self.texts[1]).format(name="there")
                self._put(
                    tid,
                    {
                        "status": "pending",
                        "assignee_id": agent,
                        "comment": {"body": first, "public": True, "author_id": agent},
                    },
                    now,
                    "first_reply",
                )
                self._later(now, 3 * 3600, tid, "agent_solve")

    def step(self, now: datetime) -> int:
        """Act on everything due at `now` (the servers' clock). Returns actions taken."""
        before = len(self.actions)
        for t in self._new_tickets(now):
            tid = int(t["id"])
            created = datetime.fromisoformat(t["created_at"].replace("Z", "+00:00"))
            if tid in self.seen or created < self.go_live or t.get("status") == "deleted":
                continue
            self.seen.add(tid)
            self._later(created, self.pickup_median, tid, "pick_up")
        while self.queue and self.queue[0].due <= now:
            a = heapq.heappop(self.queue)
            truth = self.truth.get(a.ticket_id, {})
            agent = self.rng.choice(self.agents)
            if a.kind == "pick_up":
                self._pick_up(a.ticket_id, now)
            elif a.kind == "engineer_solve":
                note = self.texts[2].get(truth.get("root_cause"), "Fixed.")
                self._put(
                    a.ticket_id,
                    {
                        "comment": {
                            "body": note.format(ref=self._ref(a.ticket_id)),
                            "public": False,
                            "author_id": agent,
                        }
                    },
                    now,
                    "engineer_note",
                )
                self._solve(
                    a.ticket_id,
                    truth.get("root_cause", "novel"),
                    now,
                    None,
                    agent,
                    "engineer_solve",
                )
            elif a.kind == "agent_solve":
                self._solve(
                    a.ticket_id, truth.get("root_cause", "novel"), now, None, agent, "agent_solve"
                )
            elif a.kind == "customer_reopen":
                data, _ = self.client.get_json(
                    f"/api/v2/tickets/{a.ticket_id}", endpoint="/api/v2/tickets/{id}"
                )
                requester = (data.get("ticket") or {}).get("requester_id")
                self._put(
                    a.ticket_id,
                    {
                        "status": "open",
                        "comment": {
                            "body": "This is not fixed for us.",
                            "public": True,
                            "author_id": requester,
                        },
                    },
                    now,
                    "customer_reopen",
                )
                self._escalate(a.ticket_id, now, agent, "Reopened; escalating to engineering.")
        return len(self.actions) - before
