SELECT
    id AS charge_id,
    customer AS customer_id,
    invoice AS invoice_id,
    status,
    CAST(amount AS BIGINT) AS amount,
    currency,
    failure_code,
    failure_message,
    outcome__reason AS outcome_reason,
    make_timestamp(CAST(created AS BIGINT) * 1000000) AS created_at
FROM raw_stripe.charges
