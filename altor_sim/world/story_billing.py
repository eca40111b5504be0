"""Billing trouble: monthly invoices for every subscriber, and the ones that fail (declined
charges, retries, past-due and canceled subscriptions) with their tickets."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from altor_sim.world.common import DAY, HOUR, MINUTE, utc
from altor_sim.world.episodes import (
    DECLINES,
    Episode,
    Invoice,
    Quota,
    Story,
)
from altor_sim.world.story import _ticket
from altor_sim.world.story_org import pick_org

TRIAL = 14 * DAY


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
    quota = Quota(target, 20 * target + 10)
    cands = np.flatnonzero(s.has_zd & (c.org_plan >= 0))
    order = rng.permutation(len(s.invoices))
    pool = [s.invoices[i] for i in order]
    while quota.draw():
        if pool:
            inv = pool.pop()
            if inv.t < s.start + DAY or inv.t > s.end - DAY:
                continue
        else:  # more trouble than monthly invoices: usage-overage invoices
            t = s.sample_time(rng, s.start + DAY, s.end - DAY)
            o = pick_org(s, rng, t, cands, 0.2, need_plan=True)
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
        quota.made += _fail_invoice(s, rng, inv, quota.left)


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
        s.add_org_effect(o, t_cancel, t_cancel + 3 * DAY, "suspend", status=402,
                         code="subscription_inactive")
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
