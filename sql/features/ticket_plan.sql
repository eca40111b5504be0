-- The customer's plan as of the investigation time: the account's Stripe customer -> the
-- subscription version valid then -> its price's rate_limit_per_minute and
-- monthly_request_quota (price metadata, else the product's). One row per ticket with a plan.
WITH inv AS (
    SELECT ticket_id, stripe_customer_id, investigated_at AS t
    FROM intermediate.int_ticket_investigations
),
plan AS (
    SELECT i.ticket_id,
        arg_max(h.subscription_id, h.valid_from) AS subscription_id,
        arg_max(h.price_id, h.valid_from) AS price_id,
        arg_max(h.status, h.valid_from) AS subscription_status
    FROM inv AS i
    JOIN staging.stg_stripe__subscription_history AS h
        ON h.customer_id = i.stripe_customer_id
       AND h.valid_from <= i.t AND (h.valid_to IS NULL OR h.valid_to > i.t)
    GROUP BY i.ticket_id
)
SELECT p.*, pr.product_id, pr.rate_limit_per_minute, pr.monthly_request_quota,
    prod.product_name AS plan_name
FROM plan AS p
LEFT JOIN staging.stg_stripe__prices AS pr ON pr.price_id = p.price_id
LEFT JOIN staging.stg_stripe__products AS prod ON prod.product_id = pr.product_id
