"""Per-customer episodes (plan limits, integration mistakes, novel oddities; billing trouble is in
`story_billing.py`), tickets without an anomaly, Linear noise, and the final numbering of
deploys, issues, invoices."""

from __future__ import annotations

import numpy as np

from altor_sim.world.common import DAY, HOUR, MINUTE, b62id, hexid, rng_for, utc
from altor_sim.world.episodes import (
    CI_CODES,
    NOVEL_CODES,
    Episode,
    Issue,
    Quota,
    Story,
)
from altor_sim.world.story import CHORES, FEATURES, _business_time, _ticket


def _ticket_orgs(s: Story) -> np.ndarray:
    return np.flatnonzero(s.has_zd)


def pick_org(
    s: Story, rng, t: int, cands: np.ndarray, power: float = 0.5, need_plan=False, floor=0.0
) -> int:
    """A customer active at t, weighted by traffic share ** power (+ floor: lets customers
    with no traffic be picked, for tickets that need none)."""
    for _ in range(40):
        w = s.c.org_share[cands] ** power + floor
        o = int(rng.choice(cands, p=w / w.sum()))
        if s.active(o, t) and (not need_plan or s.c.org_plan[o] >= 0):
            return o
    return -1


def _episode_start(s: Story, rng, longest: int) -> tuple[int, int, int]:
    """An episode's start (any time of day), customer with a help-desk organization (-1: none
    active then) and length (1 hour to `longest`)."""
    t0 = s.sample_time(rng, s.start + DAY, s.end - 4 * HOUR)
    o = pick_org(s, rng, t0, _ticket_orgs(s), 0.3)
    return t0, o, int(rng.integers(1 * HOUR, longest))


def plan_limits(s: Story, rng, target: int, rpm: float) -> None:
    c, quota = s.c, Quota(target, 20 * target + 10)
    cands = np.array(
        [
            o
            for o in _ticket_orgs(s)
            if c.org_plan[o] >= 0 and c.org_plan[o] < len(c.plan_limits) - 1
        ]
    )
    if len(cands) == 0:
        cands = np.array([o for o in _ticket_orgs(s) if c.org_plan[o] >= 0])
    while len(cands) and quota.draw():
        t0 = _business_time(rng, s.start + DAY, s.end - 4 * HOUR)
        o = pick_org(s, rng, t0, cands, 0.3, need_plan=True)
        dur = int(rng.integers(10 * MINUTE, 70 * MINUTE))
        if o < 0 or not s.is_free(o, t0 - HOUR, t0 + dur + HOUR):
            continue
        s.busy[o].append((t0 - HOUR, t0 + dur + HOUR))
        lim = c.plan_limits[c.org_plan[o]]
        mult = float(rng.uniform(1.2, 2.0))
        ep = Episode(
            f"lim_{len(s.episodes) + 1:05d}",
            "plan_limit",
            t0,
            t0 + dur,
            orgs=[o],
            status=429,
            code="rate_limit_exceeded",
        )
        s.add_org_effect(o, t0, t0 + dur, "extra", rate=mult * lim,
                         duty=float(rng.uniform(0.5, 0.95)))
        s.episodes.append(ep)
        for _ in range(1 + int(rng.random() < 0.3)):
            t = t0 + s.delay(rng, 10 * MINUTE, dur + 10 * MINUTE)
            e = int(np.argmax(c.org_mix[o]))
            s.tickets.append(_ticket(s, rng, t, o, "plan_limit", ep, e, 429, "rate_limit_exceeded"))
            quota.made += 1


def integrations(s: Story, rng, target: int, rpm: float) -> None:
    c, quota = s.c, Quota(target, 20 * target + 10)
    while quota.draw():
        t0, o, dur = _episode_start(s, rng, 12 * HOUR)
        if o < 0 or not s.is_free(o, t0 - HOUR, t0 + dur):
            continue
        s.busy[o].append((t0 - HOUR, t0 + dur))
        status, code = CI_CODES[int(rng.integers(len(CI_CODES)))]
        mine = np.flatnonzero(c.org_mix[o] > 0)
        e = int(rng.choice(mine, p=c.org_mix[o, mine]))
        eps = mine if status == 401 else np.array([e])
        ep = Episode(
            f"int_{len(s.episodes) + 1:05d}",
            "customer_integration",
            t0,
            t0 + dur,
            orgs=[o],
            eps=[int(x) for x in eps],
            status=status,
            code=code,
        )
        s.add_org_effect(o, t0, t0 + dur, "prob", eps=eps, status=status, code=code,
                         p=float(rng.uniform(0.3, 0.95)), lat=0.3)
        s.add_org_effect(o, t0, t0 + dur, "extra", eps=np.array([e]), status=status, code=code,
                         lat=0.3, rate=float(rng.uniform(0.5, 4.0)))
        s.episodes.append(ep)
        for _ in range(1 + int(rng.random() < 0.3)):
            t = t0 + s.delay(rng, 5 * MINUTE, min(dur, 6 * HOUR))
            s.tickets.append(_ticket(s, rng, t, o, "customer_integration", ep, e, status, code))
            quota.made += 1


def novels(s: Story, rng, target: int, rpm: float) -> None:
    c, quota = s.c, Quota(target, 20 * target + 10)
    while quota.draw():
        t0, o, dur = _episode_start(s, rng, 10 * HOUR)
        if (
            o < 0
            or not s.is_free(o, t0 - 2 * HOUR, t0 + dur)
            or s.in_past_due(o, t0 - DAY, t0 + dur)
        ):
            continue
        mine = np.flatnonzero(c.org_mix[o] > 0)
        e = int(rng.choice(mine, p=c.org_mix[o, mine]))
        si = int(c.ep_service[e])
        ep = Episode(f"nov_{len(s.episodes) + 1:05d}", "novel", t0, t0 + dur, si, [e], [o])
        odd = rng.random() < 0.3
        slow = False
        if not odd:
            s.busy[o].append((t0 - 2 * HOUR, t0 + dur))
            s.blackout[si].append((t0 - 3 * HOUR, t0 + 30 * MINUTE))
            slow = rng.random() < 0.35
            st, cd = NOVEL_CODES[int(rng.integers(len(NOVEL_CODES)))]
            lat = float(rng.uniform(4, 10)) if slow else 1.0
            ep.status, ep.code, ep.lat = (0, None, lat) if slow else (st, cd, lat)
            s.add_org_effect(o, t0, t0 + dur, "prob", eps=np.array([e]), status=200 if slow else st,
                             code=None if slow else cd,
                             p=0.0 if slow else float(rng.uniform(0.2, 0.6)), lat=lat)
        s.episodes.append(ep)
        t = t0 + s.delay(rng, 10 * MINUTE, min(dur, 4 * HOUR))
        if not odd:
            s.visible(o, e, 200 if slow else ep.status, ep.code, ep.lat, t0, t, rng)
        s.tickets.append(_ticket(s, rng, t, o, "novel", ep, e, ep.status, ep.code, slow, odd=odd))
        quota.made += 1


def quiet_tickets(s: Story, rng, n_howto: int, n_mis: int) -> None:
    cands = _ticket_orgs(s)
    for cause, n in (("how_to", n_howto), ("misrouted", n_mis)):
        for _ in range(n):
            if cause == "how_to" and s.past_due and rng.random() < 0.12:
                o, a, b = s.past_due[int(rng.integers(len(s.past_due)))]
                t = int(rng.integers(a, max(a + 1, min(b, s.end))))
                if s.active(o, t):
                    s.tickets.append(_ticket(s, rng, t, o, cause, None))
                    continue
            t = _business_time(rng, s.start + HOUR, s.end)
            o = pick_org(s, rng, t, cands, 0.4, floor=s.quiet_floor)
            if o < 0:
                continue
            to = str(
                rng.choice(["success", "partners", "security", "billing"], p=[0.4, 0.2, 0.25, 0.15])
            )
            s.tickets.append(
                _ticket(s, rng, t, o, cause, None, misroute_to=to if cause == "misrouted" else "")
            )


def noise_issues(s: Story, rng) -> None:
    c = s.c
    for _ in range(int((s.end - s.start) / DAY * 2.2)):
        t = _business_time(rng, s.start - 10 * DAY, s.end)
        svc = str(rng.choice(c.services))
        kind = str(rng.choice(["feature", "chore", "improvement", "bug"], p=[0.4, 0.25, 0.15, 0.2]))
        if kind == "bug":
            e = int(rng.integers(len(c.endpoints)))
            code = str(rng.choice(["internal_error", "validation_failed", "timeout", "not_found"]))
            code = s.code_name(code)
            title = str(
                rng.choice(
                    [
                        f"{code} from {c.methods[e]} {c.endpoints[e]} in staging",
                        f"Flaky {code} in {svc} integration tests",
                        f"Admin console shows wrong totals for {svc}",
                    ]
                )
            )
            desc = f"Seen internally only, no customer impact so far. Service: {svc}."
            labels = ["Bug", "internal"]
        elif kind == "feature":
            title = str(rng.choice(FEATURES)).format(svc=svc)
            desc = f"Requested by several accounts. Scope: {svc}."
            labels = ["Feature"]
        else:
            title = str(rng.choice(CHORES)).format(svc=svc)
            desc = f"Housekeeping for {svc}."
            labels = ["Chore" if kind == "chore" else "Improvement"]
        states: list[tuple[int, str]] = []
        r = rng.random()
        if r < 0.55:
            t2 = t + int(rng.integers(HOUR, 10 * DAY))
            states.append((t2, "started"))
            if rng.random() < 0.7:
                states.append((t2 + int(rng.integers(HOUR, 14 * DAY)), "completed"))
        elif r < 0.65:
            states.append((t + int(rng.integers(HOUR, 20 * DAY)), "canceled"))
        s.issues.append(Issue(t, title, desc, kind, int(rng.integers(0, 5)), states, labels))
    for ep in s.episodes:  # post-mortems after incidents and regressions, closed later
        if ep.cause in ("platform_incident", "deploy_regression") and rng.random() < 0.5:
            t = ep.t1 + int(rng.integers(2 * HOUR, 2 * DAY))
            s.issues.append(
                Issue(
                    t,
                    f"Postmortem: {c.services[ep.service]} degradation {utc(ep.t0):%b %d}",
                    "Timeline, impact and follow-ups.",
                    "chore",
                    3,
                    [(t + int(rng.integers(DAY, 7 * DAY)), "completed")],
                    ["Incident"],
                )
            )


def finalize(s: Story) -> None:
    """Drop routine deploys inside blackout windows; number everything in time order."""
    c = s.c
    rng = rng_for(s.seed, 40)

    def blocked(d) -> bool:
        return d.kind == "routine" and any(a <= d.t < b for a, b in s.blackout[d.service])

    s.deploys = sorted(
        (d for d in s.deploys if not blocked(d)), key=lambda d: (d.t, d.service, d.kind)
    )
    s.issues.sort(key=lambda i: (i.created, i.title))
    for n, iss in enumerate(s.issues):
        iss.identifier = f"ENG-{101 + n}"
        iss.id = (
            f"{hexid(rng, 8)}-{hexid(rng, 4)}-4{hexid(rng, 3)}-a{hexid(rng, 3)}-{hexid(rng, 12)}"
        )
    issue_of = {id(ep.issue): ep.issue for ep in s.episodes if ep.issue is not None}
    fix_for: dict[tuple[int, int], Issue] = {}
    for ep in s.episodes:
        if ep.issue is not None:
            fix_for[(ep.t1 - 10 * MINUTE, ep.service)] = ep.issue
    count: dict[int, int] = {}
    for n, d in enumerate(s.deploys):
        d.id = 310_000_001 + n
        d.sha = hexid(rng, 40)
        count[d.service] = count.get(d.service, 0) + 1
        d.version = f"{utc(d.t):%Y.%m.%d}-{count[d.service]}"
        d.author = str(rng.choice([e[1] for e in c.engineers] + ["deploy-bot"]))
        if "{ISSUE}" in d.message:
            iss = fix_for.get((d.t, d.service))
            d.message = d.message.replace("{ISSUE}", iss.identifier if iss else "ENG-0")
    del issue_of
    s.sub_ids = {o: "sub_" + b62id(rng, 24) for o in range(len(c.org_ids)) if c.org_plan[o] >= 0}
    s.invoices.sort(key=lambda i: (i.t, i.org))
    for inv in s.invoices:
        inv.id = "in_" + b62id(rng, 24)
        inv.charge_ids = ["ch_" + b62id(rng, 24) for _ in inv.charges]
    s.tickets = sorted((t for t in s.tickets if s.start <= t.t < s.end), key=lambda t: (t.t, t.org))
