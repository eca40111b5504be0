"""Stripe products, prices, customers and subscriptions (versioned) from a finished `Story`."""

from __future__ import annotations

from altor_sim.world.common import (
    DAY,
    Writers,
    b62id,
    rng_for,
    utc,
)
from altor_sim.world.episodes import Story
from altor_sim.world.vendor_stripe_invoices import write_invoice

TRIAL = 14 * DAY


def _add_month(ts: int, k: int) -> int:
    d = utc(ts)
    m = d.month - 1 + k
    return int(d.replace(year=d.year + m // 12, month=m % 12 + 1, day=min(d.day, 28)).timestamp())


def _period(anchor: int, t: int) -> tuple[int, int]:
    if t < anchor:
        return anchor - TRIAL, anchor
    k = 0
    while _add_month(anchor, k + 1) <= t:
        k += 1
    return _add_month(anchor, k), _add_month(anchor, k + 1)


def write_stripe(s: Story, w: Writers) -> None:
    c = s.c
    rng = rng_for(s.seed, 50)
    first = min(int(c.org_created.min()), s.start) - 30 * DAY
    prod_ids, price_ids = [], []
    for i, name in enumerate(c.plan_names):
        pid, prid = f"prod_{b62id(rng, 14)}", f"price_{b62id(rng, 24)}"
        prod_ids.append(pid)
        price_ids.append(prid)
        meta = {
            "rate_limit_per_minute": str(c.plan_limits[i]),
            "monthly_request_quota": str(c.plan_quotas[i]),
            "plan": name.lower(),
        }
        # Where the limits live (WORLD-FORMAT: "Prices or products carry the plan's limits").
        where = s.limits_in
        product_meta = meta if where in ("both", "product") else {"plan": name.lower()}
        price_meta = meta if where in ("both", "price") else {"plan": name.lower()}
        w["stripe/products"].write(
            first,
            {
                "id": pid,
                "object": "product",
                "active": True,
                "created": first,
                "updated": first,
                "default_price": prid,
                "description": f"{c.name} API — {name} plan",
                "images": [],
                "livemode": False,
                "metadata": product_meta,
                "name": name,
                "type": "service",
                "url": None,
            },
        )
        w["stripe/prices"].write(
            first,
            {
                "id": prid,
                "object": "price",
                "active": True,
                "billing_scheme": "per_unit",
                "created": first,
                "currency": "usd",
                "livemode": False,
                "lookup_key": name.lower() + "_monthly",
                "metadata": price_meta,
                "nickname": f"{name} monthly",
                "product": pid,
                "recurring": {
                    "interval": "month",
                    "interval_count": 1,
                    "meter": None,
                    "usage_type": "licensed",
                    "trial_period_days": 14,
                },
                "tax_behavior": "unspecified",
                "type": "recurring",
                "unit_amount": c.plan_prices[i],
                "unit_amount_decimal": str(c.plan_prices[i]),
            },
        )
    s.price_ids, s.prod_ids = price_ids, prod_ids
    invoices_by_org: dict[int, list] = {}
    for inv in s.invoices:
        invoices_by_org.setdefault(inv.org, []).append(inv)
    for o in range(len(c.org_ids)):
        cus = c.org_cus_id[o]
        if cus is None:
            continue
        created = int(c.org_created[o]) - 600
        plan = int(c.org_plan[o])
        base = {
            "id": cus,
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": created,
            "currency": "usd",
            "default_source": None,
            "delinquent": False,
            "description": None,
            "email": f"billing@{c.org_domains[o]}",
            "invoice_prefix": b62id(rng, 8).upper(),
            "livemode": False,
            "metadata": {"org_id": c.org_ids[o]},
            "name": c.org_names[o],
            "phone": None,
            "preferred_locales": ["en"],
            "tax_exempt": "none",
            "test_clock": None,
        }
        w["stripe/customers"].write(created, dict(base))
        events = sorted(s.sub_events.get(o, []))
        delinquent = False
        for t, st in events:
            if (st == "past_due") != delinquent and st in ("past_due", "active"):
                delinquent = st == "past_due"
                if t < s.end:
                    w["stripe/customers"].write(t, {**base, "delinquent": delinquent})
        if plan < 0:
            continue
        sub = s.sub_ids[o]
        anchor = int(c.org_created[o]) + TRIAL
        invs = invoices_by_org.get(o, [])
        cyc = [(inv.t, "renew", inv) for inv in invs if inv.reason == "subscription_cycle"]
        timeline = sorted([(t, "status", st) for t, st in events] + cyc, key=lambda x: (x[0], x[1]))
        status, canceled_at, latest = "trialing", None, None
        vend = int(c.org_end[o])
        for t, what, val in timeline:
            if t >= s.end:
                break
            if what == "status":
                status = val
                if val == "canceled":
                    canceled_at = t
            else:
                latest = val.id
                if status == "canceled":
                    continue
            ps, pe = _period(anchor, t)
            w["stripe/subscriptions"].write(
                t,
                _sub_obj(
                    sub,
                    cus,
                    int(c.org_created[o]),
                    anchor,
                    status,
                    ps,
                    pe,
                    canceled_at,
                    latest,
                    price_ids[plan],
                    prod_ids[plan],
                    c.plan_prices[plan],
                    c.org_ids[o],
                ),
            )
        if vend < s.end and status not in ("canceled",) and vend < 2**39:
            ps, pe = _period(anchor, vend)
            w["stripe/subscriptions"].write(
                vend,
                _sub_obj(
                    sub,
                    cus,
                    int(c.org_created[o]),
                    anchor,
                    "canceled",
                    ps,
                    pe,
                    vend,
                    latest,
                    price_ids[plan],
                    prod_ids[plan],
                    c.plan_prices[plan],
                    c.org_ids[o],
                ),
            )
    for inv in s.invoices:
        write_invoice(s, w, inv)


def _sub_obj(
    sub, cus, created, anchor, status, ps, pe, canceled_at, latest, price, prod, amount, org_id
) -> dict:
    return {
        "id": sub,
        "object": "subscription",
        "billing_cycle_anchor": anchor,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": canceled_at,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "current_period_end": pe,
        "current_period_start": ps,
        "customer": cus,
        "days_until_due": None,
        "default_payment_method": None,
        "description": None,
        "ended_at": canceled_at,
        "items": {
            "object": "list",
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub}",
            "data": [
                {
                    "id": "si_" + sub[4:18],
                    "object": "subscription_item",
                    "created": created,
                    "metadata": {},
                    "quantity": 1,
                    "subscription": sub,
                    "current_period_start": ps,
                    "current_period_end": pe,
                    "price": {
                        "id": price,
                        "object": "price",
                        "active": True,
                        "currency": "usd",
                        "product": prod,
                        "type": "recurring",
                        "unit_amount": amount,
                        "recurring": {"interval": "month", "interval_count": 1},
                    },
                }
            ],
        },
        "latest_invoice": latest,
        "livemode": False,
        "metadata": {"org_id": org_id},
        "start_date": created,
        "status": status,
        "trial_end": created + TRIAL,
        "trial_start": created,
    }
