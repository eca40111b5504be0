"""Per-customer episodes (plan limits, integration mistakes, novel oddities, billing trouble),
tickets without an anomaly, Linear noise, and the final numbering of deploys, issues, invoices."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from altor_sim.world.common import DAY, HOUR, MINUTE, b62id, hexid, rng_for, utc
from altor_sim.world.episodes import (
    CI_CODES,
    DECLINES,
    NOVEL_CODES,
    Effect,
    Episode,
    Invoice,
    Issue,
    Story,
)
from altor_sim.world.story import CHORES, FEATURES, _business_time, _ticket

TRIAL = 14 * DAY


def _ticket_orgs(s: Story) -> np.ndarray:
    return np.flatnonzero(s.has_zd)


def _pick_org(
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


def plan_limits(s: Story, rng, target: int, rpm: float) -> None:
    c, made, n = s.c, 0, 0
    cands = np.array(
        [
            o
            for o in _ticket_orgs(s)
            if c.org_plan[o] >= 0 and c.org_plan[o] < len(c.plan_limits) - 1
        ]
    )
    if len(cands) == 0:
        cands = np.array([o for o in _ticket_orgs(s) if c.org_plan[o] >= 0])
    while made < target and n < 20 * target + 10 and len(cands):
        n += 1
        t0 = _business_time(rng, s.start + DAY, s.end - 4 * HOUR)
        o = _pick_org(s, rng, t0, cands, 0.3, need_plan=True)
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
        s.add_effect(
            Effect(
                t0,
                t0 + dur,
                "extra",
                orgs=np.array([o]),
                rate=mult * lim,
                duty=float(rng.uniform(0.5, 0.95)),
            )
        )
        s.episodes.append(ep)
        for _ in range(1 + int(rng.random() < 0.3)):
            t = t0 + s.delay(rng, 10 * MINUTE, dur + 10 * MINUTE)
            e = int(np.argmax(c.org_mix[o]))
            s.tickets.append(_ticket(s, rng, t, o, "plan_limit", ep, e, 429, "rate_limit_exceeded"))
            made += 1


def integrations(s: Story, rng, target: int, rpm: float) -> None:
    c, made, n = s.c, 0, 0
    cands = _ticket_orgs(s)
    while made < target and n < 20 * target + 10:
        n += 1
        t0 = s.sample_time(rng, s.start + DAY, s.end - 4 * HOUR)
        o = _pick_org(s, rng, t0, cands, 0.3)
        dur = int(rng.integers(1 * HOUR, 12 * HOUR))
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
        s.add_effect(
            Effect(
                t0,
                t0 + dur,
                "prob",
                orgs=np.array([o]),
                eps=eps,
                status=status,
                code=code,
                p=float(rng.uniform(0.3, 0.95)),
                lat=0.3,
            )
        )
        s.add_effect(
            Effect(
                t0,
                t0 + dur,
                "extra",
                orgs=np.array([o]),
                eps=np.array([e]),
                status=status,
                code=code,
                lat=0.3,
                rate=float(rng.uniform(0.5, 4.0)),
            )
        )
        s.episodes.append(ep)
        for _ in range(1 + int(rng.random() < 0.3)):
            t = t0 + s.delay(rng, 5 * MINUTE, min(dur, 6 * HOUR))
            s.tickets.append(_ticket(s, rng, t, o, "customer_integration", ep, e, status, code))
            made += 1


def novels(s: Story, rng, target: int, rpm: float) -> None:
    c, made, n = s.c, 0, 0
    cands = _ticket_orgs(s)
    while made < target and n < 20 * target + 10:
        n += 1
        t0 = s.sample_time(rng, s.start + DAY, s.end - 4 * HOUR)
        o = _pick_org(s, rng, t0, cands, 0.3)
        dur = int(rng.integers(1 * HOUR, 10 * HOUR))
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
            s.add_effect(
                Effect(
                    t0,
                    t0 + dur,
                    "prob",
                    orgs=np.array([o]),
                    eps=np.array([e]),
                    status=200 if slow else st,
                    code=None if slow else cd,
                    p=0.0 if slow else float(rng.uniform(0.2, 0.6)),
                    lat=lat,
                )
            )
        s.episodes.append(ep)
        t = t0 + s.delay(rng, 10 * MINUTE, min(dur, 4 * HOUR))
        if not odd:
            s.visible(o, e, 200 if slow else ep.status, ep.code, ep.lat, t0, t, rng)
        s.tickets.append(_ticket(s, rng, t, o, "novel", ep, e, ep.status, ep.code, slow, odd=odd))
        made += 1


def _add_month(dt: datetime, k: int, day: int) -> datetime:
    m = dt.month - 1 + k
    return dt.replace(year=dt.year + m // 12, month=m % 12 + 1, day=day)


def billing(s: Story, rng, target: int) -> None:
    """Monthly invoices for every subscriber; some fail (billing episodes), most are paid."""
    c = s.c
    for o in range(len(c.org_ids)):
        if c.org_plan[o] < 0:
            continue
        created = int(c.org_created[o])
        s.sub_events[o].append((created, "trialing"))
        s.sub_events[o].append((created + TRIAL, "active"))
        anchor = utc(created + TRIAL)
        day = min(anchor.day, 28)
        amount = c.plan_prices[c.org_plan[o]]
        for k in range(0, 60):
            ps = int(_add_month(anchor.replace(day=day), k, day).timestamp())
            if ps >= min(s.end, int(c.org_end[o])):
                break
            if ps < s.start:
                continue
            pe = int(_add_month(anchor.replace(day=day), k + 1, day).timestamp())
            inv = Invoice(o, ps, amount, "subscription_cycle", (ps, pe))
            inv.charges.append((ps + HOUR, True, 0))
            s.invoices.append(inv)
    made = 0
    cands = np.flatnonzero(s.has_zd & (c.org_plan >= 0))
    order = rng.permutation(len(s.invoices))
    pool = [s.invoices[i] for i in order]
    n = 0
    while made < target and n < 20 * target + 10:
        n += 1
        if pool:
            inv = pool.pop()
            if inv.t < s.start + DAY or inv.t > s.end - DAY:
                continue
        else:  # more trouble than monthly invoices: usage-overage invoices
            t = s.sample_time(rng, s.start + DAY, s.end - DAY)
            o = _pick_org(s, rng, t, cands, 0.2, need_plan=True)
            if o < 0:
                continue
            inv = Invoice(
                o,
                t,
                int(c.plan_prices[c.org_plan[o]] * rng.uniform(0.2, 1.5)),
                "manual",
                (t - 30 * DAY, t),
            )
            inv.charges.append((t + HOUR, True, 0))
        o = inv.org
        if (
            c.org_zd_id[o] is None
            or not s.is_free(o, inv.t - HOUR, inv.t + 11 * DAY)
            or c.org_end[o] < inv.t + 12 * DAY
        ):
            continue
        if inv.reason == "manual":
            s.invoices.append(inv)
        made += _fail_invoice(s, rng, inv, target - made)


def _fail_invoice(s: Story, rng, inv: Invoice, left: int) -> int:
    c, o = s.c, inv.org
    t_fail = inv.t + HOUR
    dec = int(rng.integers(len(DECLINES)))
    outcome = rng.choice(["recover", "past_due", "canceled"], p=[0.6, 0.2, 0.2])
    t_rec = t_fail + int(rng.integers(2 * HOUR, 7 * DAY)) if outcome == "recover" else None
    t_cancel = t_fail + int(rng.integers(7 * DAY, 10 * DAY)) if outcome == "canceled" else None
    charges = [(t_fail, False, dec)]
    for r in (3 * DAY, 5 * DAY, 7 * DAY):
        tr = t_fail + r
        if (
            (t_rec is not None and tr >= t_rec)
            or (t_cancel is not None and tr >= t_cancel)
            or tr >= s.end
        ):
            break
        charges.append((tr, False, dec))
    if t_rec is not None:
        charges.append((t_rec, True, 0))
    inv.charges = charges
    inv.final = "paid" if t_rec else ("uncollectible" if t_cancel else "open")
    t_until = t_rec or t_cancel or s.end
    s.busy[o].append(
        (inv.t - HOUR, (t_cancel + 3 * DAY) if t_cancel else min(t_until, t_fail + 10 * DAY) + HOUR)
    )
    s.sub_events[o].append((t_fail, "past_due"))
    s.past_due.append((o, t_fail, t_until))
    s.past_due_by_org[o].append((t_fail, t_until))
    ep = Episode(
        f"bill_{len(s.episodes) + 1:05d}",
        "billing_issue",
        t_fail,
        t_until,
        orgs=[o],
        invoice=inv,
        sub_state="past_due",
    )
    if t_rec:
        s.sub_events[o].append((t_rec, "active"))
    if t_cancel:
        s.sub_events[o].append((t_cancel, "canceled"))
        s.add_effect(
            Effect(
                t_cancel,
                t_cancel + 3 * DAY,
                "suspend",
                orgs=np.array([o]),
                status=402,
                code="subscription_inactive",
            )
        )
        c.org_end[o] = t_cancel + 3 * DAY
    s.episodes.append(ep)
    k = min(left, 1 + int(rng.poisson(1.0)))
    made = 0
    for i in range(k):
        if t_cancel and (i == 0 and rng.random() < 0.5):
            t = t_cancel + s.delay(rng, 10 * MINUTE, 12 * HOUR)
            ep.sub_state = "canceled"
            mine = np.flatnonzero(c.org_mix[o] > 0)
            tp = _ticket(
                s, rng, t, o, "billing_issue", ep, int(mine[0]) if len(mine) else 0, 402,
                "subscription_inactive",
            )
        else:
            t = t_fail + int(np.clip(rng.lognormal(np.log(5 * HOUR), 1.0), 10 * MINUTE, 3 * DAY))
            if t >= t_until:
                t = t_fail + int((t_until - t_fail) * rng.uniform(0.05, 0.95))
            tp = _ticket(s, rng, t, o, "billing_issue", ep)
        s.tickets.append(tp)
        made += 1
    return made


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
            o = _pick_org(s, rng, t, cands, 0.4, floor=s.quiet_floor)
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
