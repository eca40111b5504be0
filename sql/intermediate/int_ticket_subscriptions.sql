-- The Stripe subscription version in force at each ticket's investigation time (through the
-- account spine's Stripe customer): the version valid then, its price and status, and since
-- when that status holds. Grain: one row per ticket whose account has a subscription then.
SELECT i.ticket_id,
    arg_max(h.subscription_id, h.valid_from) AS subscription_id,
    arg_max(h.price_id, h.valid_from) AS price_id,
    arg_max(h.status, h.valid_from) AS subscription_status,
    max(h.valid_from) AS subscription_status_since
FROM intermediate.int_ticket_investigations AS i
JOIN staging.stg_stripe__subscription_history AS h
    ON h.customer_id = i.stripe_customer_id
   AND h.valid_from <= i.investigated_at
   AND (h.valid_to IS NULL OR h.valid_to > i.investigated_at)
GROUP BY i.ticket_id
