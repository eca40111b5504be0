"""Zendesk: every ticket's life (versions, comments, metrics), streamed to disk ticket by ticket,
with the truth rows written alongside (the standing objects: `helpdesk_static.py`)."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np

from altor_pipelines.taxonomy import CAUSES, ESCALATING_CAUSES
from altor_sim.world.common import (
    DAY,
    ESCALATION_P,
    HOUR,
    MINUTE,
    PyRng,
    Writers,
    iso,
)
from altor_sim.world.episodes import Story, TicketPlan
from altor_sim.world.replies import ENG_NOTES, FIRST_REPLIES, SOLVE_REPLIES
from altor_sim.world.text import ticket_text

NOISE_CONFUSION = {  # a wrong label an agent plausibly records instead of the true cause
    "known_bug": ["deploy_regression", "customer_integration", "novel"],
    "deploy_regression": ["platform_incident", "known_bug", "novel"],
    "platform_incident": ["deploy_regression", "plan_limit", "known_bug"],
    "plan_limit": ["platform_incident", "customer_integration", "billing_issue"],
    "billing_issue": ["how_to", "misrouted", "customer_integration"],
    "customer_integration": ["known_bug", "how_to", "novel"],
    "how_to": ["customer_integration", "misrouted", "known_bug"],
    "misrouted": ["how_to", "billing_issue"],
    "novel": ["known_bug", "deploy_regression", "platform_incident", "customer_integration"],
}
# Causes whose customers may write only "something is wrong" (WorldParams.vague_share): the
# ones with a symptom in the data. Questions and requests for other teams say what they want.
VAGUE_CAUSES = frozenset(CAUSES) - {"how_to", "misrouted"}
ONE_TOUCH_P = {
    "how_to": 0.6,
    "plan_limit": 0.45,
    "billing_issue": 0.45,
    "customer_integration": 0.35,
    "known_bug": 0.35,
    "platform_incident": 0.35,
    "misrouted": 0.2,
}


def business_minutes(a: int, b: int) -> int:
    """Minutes between a and b inside business hours (Mon–Fri 09:00–17:00 UTC)."""
    if b <= a:
        return 0
    total = 0
    day = a - a % DAY
    while day < b:
        if ((day // DAY) + 3) % 7 < 5:
            lo, hi = max(a, day + 9 * HOUR), min(b, day + 17 * HOUR)
            if hi > lo:
                total += hi - lo
        day += DAY
    return total // 60


def evidence(s: Story, tp: TicketPlan) -> str:
    ep = tp.ep
    if ep is None:
        return ""
    if tp.cause == "known_bug":
        return f"linear:{ep.issue.identifier}"
    if tp.cause == "deploy_regression":
        return f"github_deployment:{ep.deploy.id}"
    if tp.cause == "platform_incident":
        return f"incident:{ep.id}"
    if tp.cause == "plan_limit":
        return f"stripe_subscription:{s.sub_ids[tp.org]}"
    if tp.cause == "billing_issue":
        inv = ep.invoice
        failed = [
            ch
            for (t, ok, _), ch in zip(inv.charges, inv.charge_ids, strict=True)
            if not ok and t <= tp.t
        ]
        parts = [f"stripe_invoice:{inv.id}"] + [f"stripe_charge:{ch}" for ch in failed[-1:]]
        return ";".join(parts + [f"stripe_subscription:{s.sub_ids[tp.org]}"])
    return ""


class HelpDesk:
    """Writes tickets in creation order; counts what it wrote for the summary and the tests."""

    def __init__(self, s: Story, w: Writers, truth_path, subdomain: str, go_live: int) -> None:
        self.s, self.w, self.sub, self.go_live = s, w, subdomain, go_live
        self._f = truth_path.open("w", newline="")
        self.truth = csv.writer(self._f, lineterminator="\n")
        self.truth.writerow(
            ["ticket_id", "root_cause", "should_escalate", "evidence", "created_at"]
        )
        self.causes: Counter = Counter()
        self.escalated: Counter = Counter()
        self.pre = 0

    def close(self) -> None:
        self._f.close()

    def write_all(self) -> None:
        for i, tp in enumerate(self.s.tickets):
            self.write_ticket(10001 + i, tp)

    def write_ticket(self, tid: int, tp: TicketPlan) -> None:
        s, c = self.s, self.s.c
        rng = PyRng(s.seed * 1_000_003 + tid)
        e = tp.endpoint if tp.endpoint >= 0 else int(np.argmax(c.org_mix[tp.org]))
        uid, uname, uemail = c.org_users[tp.org][tp.user]
        # Vague tickets (a zoo knob) are decided on their own generator so that the default
        # world's draws stay as they were.
        vague = (
            s.vague_share is not None
            and tp.cause in VAGUE_CAUSES
            and PyRng(s.seed * 7_919 + tid).random() < s.vague_share
        )
        subject, desc, sym = ticket_text(
            tp.cause,
            endpoint=c.endpoints[e],
            method=c.methods[e],
            status=tp.status,
            code=s.code_name(tp.code),
            vague=vague,
            slow=tp.slow,
            odd=tp.odd,
            misroute_to=tp.misroute_to,
            user_name=uname,
            user_email=uemail,
            last4=c.org_last4[tp.org],
            rng=rng,
        )
        ev = evidence(s, tp)
        self.truth.writerow([tid, tp.cause, int(tp.cause in ESCALATING_CAUSES), ev, iso(tp.t)])
        self.causes[tp.cause] += 1
        prio = {"down": "urgent", "errors": "high", "slow": "high"}.get(sym, "normal")
        if rng.random() < 0.3:
            prio = str(rng.choice(["low", "normal", "high"]))
        ttype = "question" if sym in ("howto", "misrouted", "billing") else "problem"
        tk = {
            "id": tid,
            "url": f"https://{self.sub}.zendesk.com/api/v2/tickets/{tid}.json",
            "external_id": None,
            "via": {"channel": str(rng.choice(["web", "email", "api"], p=[0.6, 0.35, 0.05]))},
            "created_at": iso(tp.t),
            "updated_at": iso(tp.t),
            "type": ttype,
            "subject": subject,
            "raw_subject": subject,
            "description": desc,
            "priority": prio,
            "status": "new",
            "recipient": f"support@{c.slug}.example",
            "requester_id": uid,
            "submitter_id": uid,
            "assignee_id": None,
            "organization_id": c.org_zd_id[tp.org],
            "group_id": c.groups["tier1"],
            "collaborator_ids": [],
            "follower_ids": [],
            "problem_id": None,
            "has_incidents": False,
            "due_at": None,
            "tags": list(c.org_tags[tp.org]),
            "custom_fields": [{"id": s.field_id, "value": None}],
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "fields": [{"id": s.field_id, "value": None}],
            "ticket_form_id": 360000000001,
            "brand_id": 360000000002,
            "from_messaging_channel": False,
            "generated_timestamp": tp.t,
        }
        m = {
            "id": 7_000_000_000 + tid,
            "url": f"https://{self.sub}.zendesk.com/api/v2/ticket_metrics/{7_000_000_000 + tid}"
            ".json",
            "ticket_id": tid,
            "replies": 0,
            "reopens": 0,
            "group_stations": 1,
            "assignee_stations": 0,
            "reply_time_in_minutes": {"calendar": None, "business": None},
            "first_resolution_time_in_minutes": {"calendar": None, "business": None},
            "full_resolution_time_in_minutes": {"calendar": None, "business": None},
            "agent_wait_time_in_minutes": {"calendar": None, "business": None},
            "requester_wait_time_in_minutes": {"calendar": None, "business": None},
            "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
            "solved_at": None,
            "assigned_at": None,
            "initially_assigned_at": None,
            "status_updated_at": iso(tp.t),
            "latest_comment_added_at": iso(tp.t),
            "requester_updated_at": iso(tp.t),
            "assignee_updated_at": None,
            "created_at": iso(tp.t),
            "updated_at": iso(tp.t),
        }
        cid = [tid * 100]

        def comment(t, author, public, body):
            cid[0] += 1
            self.w["zendesk/ticket_comments"].write(
                t,
                {
                    "id": cid[0],
                    "ticket_id": tid,
                    "type": "Comment",
                    "author_id": author,
                    "public": public,
                    "body": body,
                    "html_body": f"<p>{body}</p>",
                    "plain_body": body,
                    "attachments": [],
                    "via": {"channel": "web"},
                    "created_at": iso(t),
                },
            )
            m["latest_comment_added_at"] = iso(t)

        self.w["zendesk/tickets"].write(tp.t, dict(tk))
        self.w["zendesk/ticket_metrics"].write(tp.t, dict(m))
        comment(tp.t, uid, True, desc)
        if tp.t >= self.go_live:
            return
        self.pre += 1
        self._lifecycle(tid, tp, tk, m, comment, rng, ev, uname)

    def _lifecycle(self, tid, tp, tk, m, comment, rng, ev, uname) -> None:
        c, end = self.s.c, self.s.end
        groups_seen, assignees = {tk["group_id"]}, set()

        def version(t, **changes):
            if t >= end:
                return False
            tk.update(changes)
            tk["updated_at"], tk["generated_timestamp"] = iso(t), t
            if "status" in changes:
                m["status_updated_at"] = iso(t)
            if "group_id" in changes:
                groups_seen.add(changes["group_id"])
            if changes.get("assignee_id"):
                if not assignees:
                    m["initially_assigned_at"] = iso(t)
                assignees.add(changes["assignee_id"])
                m["assigned_at"], m["assignee_updated_at"] = iso(t), iso(t)
            m["group_stations"], m["assignee_stations"] = len(groups_seen), len(assignees)
            m["updated_at"] = iso(t)
            self.w["zendesk/tickets"].write(
                t,
                dict(
                    tk, tags=list(tk["tags"]), custom_fields=[dict(x) for x in tk["custom_fields"]]
                ),
            )
            self.w["zendesk/ticket_metrics"].write(
                t, {k: (dict(v) if isinstance(v, dict) else v) for k, v in m.items()}
            )
            return True

        def mins(a, b):
            return {"calendar": (b - a) // 60, "business": business_minutes(a, b)}

        agent = c.agents[int(rng.integers(len(c.agents)))]
        t = tp.t + _response_delay(rng, tp.t)
        escalate = rng.random() < ESCALATION_P[tp.cause]
        one_touch = (
            not escalate
            and tp.cause != "misrouted"
            and rng.random() < ONE_TOUCH_P.get(tp.cause, 0.2)
        )
        m["reply_time_in_minutes"] = mins(tp.t, t)
        m["replies"] = 1
        ref = ev.split(";")[0].split(":", 1)[-1] if ev else "n/a"
        if one_touch:
            comment(t, agent[0], True, SOLVE_REPLIES[tp.cause].format(ref=ref))
            return self._solve(t, tp, tk, m, version, comment, rng, agent, mins, ref, first=True)
        comment(t, agent[0], True, str(rng.choice(FIRST_REPLIES)).format(name=uname.split(" ")[0]))
        if not version(t, status="open" if escalate else "pending", assignee_id=agent[0]):
            return
        if rng.random() < 0.35:
            t += int(rng.integers(30 * MINUTE, 20 * HOUR))
            comment(
                t,
                tk["requester_id"],
                True,
                str(
                    rng.choice(
                        [
                            "Any update?",
                            "Still seeing this.",
                            "Here are more details from our side.",
                            "Thanks, waiting.",
                        ]
                    )
                ),
            )
            if not version(t, status="open"):
                return
        if escalate:
            t += int(rng.integers(20 * MINUTE, 6 * HOUR))
            if t >= end:
                return
            comment(
                t,
                agent[0],
                False,
                "Escalating to engineering, I can't see what is going on from here.",
            )
            eng = c.engineers[int(rng.integers(len(c.engineers)))]
            version(t, group_id=c.groups["engineering"], assignee_id=eng[0], status="open")
            self.escalated[tp.cause] += 1
            t += int(rng.lognormal(np.log(4 * HOUR), 0.9))
            comment(t, eng[0], False, ENG_NOTES[tp.cause].format(ref=ref))
            if tp.cause == "misrouted":
                target = c.groups[tp.misroute_to or "success"]
                owner = c.billing_agents[0] if tp.misroute_to == "billing" else agent
                if not version(t, group_id=target, assignee_id=owner[0]):
                    return
                agent = owner
        elif tp.cause == "misrouted":
            t += int(rng.integers(10 * MINUTE, 3 * HOUR))
            target = c.groups[tp.misroute_to or "success"]
            owner = (
                c.billing_agents[0]
                if tp.misroute_to == "billing"
                else c.agents[int(rng.integers(len(c.agents)))]
            )
            if not version(t, group_id=target, assignee_id=owner[0]):
                return
            agent = owner
        t += int(rng.lognormal(np.log(3 * HOUR), 1.0))
        m["replies"] += 1
        comment(t, agent[0], True, SOLVE_REPLIES[tp.cause].format(ref=ref))
        self._solve(t, tp, tk, m, version, comment, rng, agent, mins, ref, first=False)

    def _solve(self, t, tp, tk, m, version, comment, rng, agent, mins, ref, first) -> None:
        label = tp.cause
        if rng.random() < self.s.label_noise:
            opts = NOISE_CONFUSION[tp.cause]
            label = opts[int(rng.integers(len(opts)))]
        m["first_resolution_time_in_minutes"] = mins(tp.t, t)
        m["full_resolution_time_in_minutes"] = mins(tp.t, t)
        m["solved_at"] = iso(t)
        cf = [{"id": self.s.field_id, "value": label}]
        if not version(
            t,
            status="solved",
            assignee_id=agent[0],
            custom_fields=cf,
            fields=cf,
            tags=tk["tags"] + ["rc_recorded"],
        ):
            return
        if rng.random() < 0.08:
            t += int(rng.integers(HOUR, 3 * DAY))
            comment(
                t,
                tk["requester_id"],
                True,
                str(
                    rng.choice(
                        [
                            "This is happening again.",
                            "Not fixed for us.",
                            "Sorry, one more question on this.",
                        ]
                    )
                ),
            )
            m["reopens"] += 1
            if not version(t, status="open"):
                return
            t += int(rng.integers(HOUR, DAY))
            m["replies"] += 1
            comment(t, agent[0], True, "Thanks for following up, this should now be sorted.")
            m["full_resolution_time_in_minutes"] = mins(tp.t, t)
            m["solved_at"] = iso(t)
            if not version(t, status="solved"):
                return
        version(t + 4 * DAY, status="closed")


def _response_delay(rng, t: int) -> int:
    d = int(min(max(rng.lognormal(np.log(70 * MINUTE), 0.9), 4 * MINUTE), 2 * DAY))
    h = ((t + d) % DAY) / 3600
    dow = (((t + d) // DAY) + 3) % 7
    if dow >= 5 or h < 7 or h >= 20:  # out of hours: picked up next business morning (some later)
        nxt = (t + d) - (t + d) % DAY + (DAY if h >= 7 else 0) + 8 * HOUR
        while ((nxt // DAY) + 3) % 7 >= 5:
            nxt += DAY
        d = nxt - t + int(rng.integers(0, 3 * HOUR))
    return d
