SELECT
    id AS invoice_id,
    customer AS customer_id,
    subscription AS subscription_id,
    status,
    CAST(amount_due AS BIGINT) AS amount_due,
    CAST(amount_paid AS BIGINT) AS amount_paid,
    CAST(amount_remaining AS BIGINT) AS amount_remaining,
    currency,
    CAST(attempt_count AS INTEGER) AS attempt_count,
    make_timestamp(CAST(created AS BIGINT) * 1000000) AS created_at,
    make_timestamp(CAST(due_date AS BIGINT) * 1000000) AS due_at,
    make_timestamp(CAST(status_transitions__paid_at AS BIGINT) * 1000000) AS paid_at,
    make_timestamp(CAST(status_transitions__voided_at AS BIGINT) * 1000000) AS voided_at
FROM raw_stripe.invoices
