"""Stripe invoices, charges and payment attempts (versioned) from a finished `Story`."""

from __future__ import annotations

from altor_sim.world.common import (
    DAY,
    HOUR,
    Writers,
)
from altor_sim.world.episodes import DECLINES, Story


def write_invoice(s: Story, w: Writers, inv) -> None:
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
