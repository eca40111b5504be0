-- Billing state as of the investigation time (Stripe, through the account spine): the
-- subscription version valid then, invoices issued by then and still unpaid then, failed
-- charges by then. Current statuses are not used: an invoice paid later was unpaid at t.
WITH inv AS (
    SELECT ticket_id, stripe_customer_id, investigated_at AS t
    FROM intermediate.int_ticket_investigations
),
sub AS (
    SELECT ticket_id, subscription_id, subscription_status, subscription_status_since
    FROM intermediate.int_ticket_subscriptions
),
unpaid AS (
    SELECT i.ticket_id, n.invoice_id, n.amount_due, n.amount_remaining, n.currency,
        n.created_at, n.due_at, n.attempt_count,
        n.due_at IS NOT NULL AND n.due_at < i.t AS is_past_due,
        date_diff('minute', n.due_at, i.t) / 1440.0 AS days_past_due
    FROM inv AS i
    JOIN staging.stg_stripe__invoices AS n
        ON n.customer_id = i.stripe_customer_id AND n.created_at <= i.t
    WHERE (n.paid_at IS NULL OR n.paid_at > i.t)
      AND (n.voided_at IS NULL OR n.voided_at > i.t)
      AND coalesce(n.status, '') NOT IN ('draft', 'void')
      AND coalesce(n.amount_due, 0) > 0
      AND NOT (n.status = 'paid' AND n.paid_at IS NULL)
),
inv_agg AS (
    SELECT ticket_id,
        count(*) AS unpaid_invoices,
        count(*) FILTER (WHERE is_past_due) AS past_due_invoices,
        sum(amount_remaining) AS unpaid_amount,
        arg_max(invoice_id, (is_past_due, coalesce(days_past_due, 0), created_at))
            AS worst_invoice_id,
        arg_max(amount_due, (is_past_due, coalesce(days_past_due, 0), created_at))
            AS worst_invoice_amount,
        arg_max(currency, (is_past_due, coalesce(days_past_due, 0), created_at))
            AS worst_invoice_currency,
        max(days_past_due) FILTER (WHERE is_past_due) AS max_days_past_due,
        max(attempt_count) AS max_attempt_count
    FROM unpaid GROUP BY ticket_id
),
ch AS (
    SELECT i.ticket_id, c.charge_id, c.status, c.failure_code, c.outcome_reason, c.amount,
        c.currency, c.created_at, i.t
    FROM inv AS i
    JOIN staging.stg_stripe__charges AS c
        ON c.customer_id = i.stripe_customer_id AND c.created_at <= i.t
),
ch_agg AS (
    SELECT ticket_id,
        count(*) FILTER (WHERE status = 'failed' AND created_at > t - INTERVAL 30 DAY)
            AS failed_charges_30d,
        arg_max(charge_id, created_at) FILTER (WHERE status = 'failed') AS last_failed_charge_id,
        arg_max(failure_code, created_at) FILTER (WHERE status = 'failed') AS last_failure_code,
        arg_max(outcome_reason, created_at) FILTER (WHERE status = 'failed')
            AS last_decline_reason,
        arg_max(amount, created_at) FILTER (WHERE status = 'failed') AS last_failed_amount,
        arg_max(currency, created_at) FILTER (WHERE status = 'failed') AS last_failed_currency,
        max(created_at) FILTER (WHERE status = 'failed') AS last_failed_charge_at,
        max(created_at) FILTER (WHERE status = 'succeeded') AS last_succeeded_charge_at,
        any_value(t) AS t
    FROM ch GROUP BY ticket_id
)
SELECT
    i.ticket_id,
    i.stripe_customer_id,
    i.stripe_customer_id IS NOT NULL AS has_stripe_customer,
    s.subscription_id,
    s.subscription_status,
    date_diff('minute', s.subscription_status_since, i.t) / 1440.0 AS days_in_subscription_status,
    coalesce(a.unpaid_invoices, 0) AS unpaid_invoices,
    coalesce(a.past_due_invoices, 0) AS past_due_invoices,
    a.unpaid_amount,
    a.worst_invoice_id,
    a.worst_invoice_amount,
    a.worst_invoice_currency,
    a.max_days_past_due,
    a.max_attempt_count,
    coalesce(c.failed_charges_30d, 0) AS failed_charges_30d,
    c.last_failed_charge_id,
    c.last_failure_code,
    c.last_decline_reason,
    c.last_failed_amount,
    c.last_failed_currency,
    date_diff('minute', c.last_failed_charge_at, i.t) / 1440.0 AS days_since_failed_charge,
    coalesce(c.last_succeeded_charge_at > c.last_failed_charge_at, false)
        AS succeeded_after_last_failure
FROM inv AS i
LEFT JOIN sub AS s USING (ticket_id)
LEFT JOIN inv_agg AS a USING (ticket_id)
LEFT JOIN ch_agg AS c USING (ticket_id)
