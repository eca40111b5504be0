"""Writing Stripe, Linear and GitHub objects (versioned) from a finished `Story`."""

from __future__ import annotations

from altor_sim.world.common import (
    DAY,
    HOUR,
    MINUTE,
    Writers,
    b62id,
    iso,
    iso_ms,
    rng_for,
    utc,
)
from altor_sim.world.episodes import DECLINES, Story

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
        _write_invoice(s, w, inv)


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


def _write_invoice(s: Story, w: Writers, inv) -> None:
    c = s.c
    o = inv.org
    cus, sub = c.org_cus_id[o], s.sub_ids[o]
    number = f"{inv.id[3:11].upper()}-{inv.t % 10000:04d}"
    base = {
        "id": inv.id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": inv.amount,
        "amount_paid": 0,
        "amount_remaining": inv.amount,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "billing_reason": inv.reason,
        "collection_method": "charge_automatically",
        "created": inv.t,
        "currency": "usd",
        "customer": cus,
        "customer_email": f"billing@{c.org_domains[o]}",
        "customer_name": c.org_names[o],
        "description": None if inv.reason != "manual" else "Usage overage",
        "due_date": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{inv.id}",
        "livemode": False,
        "lines": {
            "object": "list",
            "has_more": False,
            "url": f"/v1/invoices/{inv.id}/lines",
            "data": [
                {
                    "id": "il_" + inv.id[3:17],
                    "object": "line_item",
                    "amount": inv.amount,
                    "currency": "usd",
                    "description": "Subscription" if inv.reason != "manual" else "Overage",
                    "period": {"start": inv.period[0], "end": inv.period[1]},
                    "quantity": 1,
                }
            ],
        },
        "metadata": {},
        "next_payment_attempt": inv.t + HOUR,
        "number": number,
        "paid": False,
        "period_end": inv.period[1],
        "period_start": inv.period[0],
        "status": "open",
        "status_transitions": {
            "finalized_at": inv.t,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subscription": sub,
        "subtotal": inv.amount,
        "total": inv.amount,
    }
    w["stripe/invoices"].write(inv.t, dict(base))
    attempts = 0
    last4 = c.org_last4[o]
    for (t, ok, dec), ch in zip(inv.charges, inv.charge_ids, strict=True):
        if t >= s.end:
            break
        attempts += 1
        fc, reason, msg = DECLINES[dec]
        w["stripe/charges"].write(
            t,
            {
                "id": ch,
                "object": "charge",
                "amount": inv.amount,
                "amount_captured": inv.amount if ok else 0,
                "amount_refunded": 0,
                "billing_details": {"email": base["customer_email"], "name": c.org_names[o]},
                "captured": ok,
                "created": t,
                "currency": "usd",
                "customer": cus,
                "description": f"Invoice {number}",
                "disputed": False,
                "failure_code": None if ok else fc,
                "failure_message": None if ok else msg,
                "invoice": inv.id,
                "livemode": False,
                "metadata": {},
                "outcome": {
                    "network_status": "approved_by_network" if ok else "declined_by_network",
                    "reason": None if ok else reason,
                    "risk_level": "normal",
                    "seller_message": "Payment complete."
                    if ok
                    else "The bank did not return any further details.",
                    "type": "authorized" if ok else "issuer_declined",
                },
                "paid": ok,
                "payment_intent": "pi_" + ch[3:27],
                "payment_method_details": {
                    "type": "card",
                    "card": {
                        "brand": "visa",
                        "last4": last4,
                        "exp_month": 12,
                        "exp_year": 2027,
                        "funding": "credit",
                        "country": "US",
                    },
                },
                "receipt_email": None,
                "refunded": False,
                "status": "succeeded" if ok else "failed",
            },
        )
        if ok:
            w["stripe/invoices"].write(
                t,
                {
                    **base,
                    "amount_paid": inv.amount,
                    "amount_remaining": 0,
                    "attempt_count": attempts,
                    "attempted": True,
                    "paid": True,
                    "status": "paid",
                    "next_payment_attempt": None,
                    "status_transitions": {**base["status_transitions"], "paid_at": t},
                },
            )
        else:
            nxt = [x[0] for x in inv.charges if x[0] > t]
            base = {
                **base,
                "attempt_count": attempts,
                "attempted": True,
                "next_payment_attempt": nxt[0] if nxt else None,
            }
            w["stripe/invoices"].write(t, dict(base))
    if inv.final == "uncollectible":
        tc = max(t for t, _, _ in inv.charges) + DAY
        cancel = [t for t, st in s.sub_events[o] if st == "canceled" and t >= inv.t]
        tc = cancel[0] if cancel else tc
        if tc < s.end:
            w["stripe/invoices"].write(
                tc,
                {
                    **base,
                    "status": "uncollectible",
                    "next_payment_attempt": None,
                    "status_transitions": {
                        **base["status_transitions"],
                        "marked_uncollectible_at": tc,
                    },
                },
            )


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


def write_github(s: Story, w: Writers, repo: str) -> None:
    c = s.c
    rng = rng_for(s.seed, 70)
    api = f"https://api.github.com/repos/{repo}"
    sid = 880_000_001
    for d in s.deploys:
        if d.t >= s.end:
            continue
        svc = c.services[d.service]
        tc = d.t - int(rng.integers(10 * MINUTE, 3 * HOUR))
        user = {
            "login": d.author.lower().replace(" ", "-"),
            "type": "User" if d.author != "deploy-bot" else "Bot",
        }
        w["github/commits"].write(
            tc,
            {
                "id": d.sha,
                "sha": d.sha,
                "url": f"{api}/commits/{d.sha}",
                "html_url": f"https://github.com/{repo}/commit/{d.sha}",
                "commit": {
                    "message": d.message,
                    "author": {"name": d.author, "email": "dev@example.com", "date": iso(tc)},
                    "committer": {"name": d.author, "email": "dev@example.com", "date": iso(tc)},
                    "comment_count": 0,
                },
                "author": user,
                "committer": user,
                "parents": [],
                "stats": {
                    "additions": int(rng.integers(1, 400)),
                    "deletions": int(rng.integers(0, 200)),
                },
                "files": [
                    {
                        "filename": f,
                        "status": "modified",
                        "additions": int(rng.integers(1, 80)),
                        "deletions": int(rng.integers(0, 40)),
                    }
                    for f in d.files
                ],
            },
        )
        desc = d.message if d.kind == "revert" else f"Deploy {svc} {d.version}"
        dep = {
            "url": f"{api}/deployments/{d.id}",
            "id": d.id,
            "sha": d.sha,
            "ref": "main",
            "task": "deploy",
            "payload": {"service": svc, "version": d.version},
            "original_environment": "production",
            "environment": "production",
            "description": desc,
            "creator": user,
            "created_at": iso(d.t),
            "updated_at": iso(d.t),
            "statuses_url": f"{api}/deployments/{d.id}/statuses",
            "repository_url": api,
            "transient_environment": False,
            "production_environment": True,
        }
        w["github/deployments"].write(d.t, dep)
        t_ok = d.t + int(rng.integers(90, 360))
        for state, t in (("pending", d.t), ("in_progress", d.t + 20), ("success", t_ok)):
            if t >= s.end:
                break
            w["github/deployment_statuses"].write(
                t,
                {
                    "url": f"{api}/deployments/{d.id}/statuses/{sid}",
                    "id": sid,
                    "state": state,
                    "creator": user,
                    "description": {
                        "pending": "Queued",
                        "in_progress": "Rolling out",
                        "success": "Deployment finished successfully.",
                    }[state],
                    "environment": "production",
                    "target_url": f"https://ci.example.com/deploys/{d.id}",
                    "created_at": iso(t),
                    "updated_at": iso(t),
                    "deployment_url": f"{api}/deployments/{d.id}",
                    "repository_url": api,
                    "log_url": f"https://ci.example.com/deploys/{d.id}/log",
                },
            )
            sid += 1
        if t_ok < s.end:
            w["github/deployments"].write(t_ok, {**dep, "updated_at": iso(t_ok)})
    # weekly releases (Tuesdays 15:00) summarising what was deployed since the previous one
    t = s.start - (s.start // DAY + 3) % 7 * DAY + DAY + 15 * HOUR
    n, prev, rid = 0, t - 7 * DAY, 120_000_001
    while t < s.end:
        if t >= s.start:
            notes = [d.message for d in s.deploys if prev <= d.t < t][:30]
            tag = f"v2.{40 + n}.0"
            w["github/releases"].write(
                t,
                {
                    "url": f"{api}/releases/{rid}",
                    "html_url": f"https://github.com/{repo}/releases/tag/{tag}",
                    "id": rid,
                    "tag_name": tag,
                    "target_commitish": "main",
                    "name": tag,
                    "body": "\n".join(f"- {m}" for m in notes),
                    "draft": False,
                    "prerelease": False,
                    "created_at": iso(t),
                    "published_at": iso(t),
                    "author": {"login": "release-bot", "type": "Bot"},
                    "assets": [],
                },
            )
            n += 1
            rid += 1
        prev, t = t, t + 7 * DAY
