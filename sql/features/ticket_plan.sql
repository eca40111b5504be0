-- The customer's plan as of the investigation time: the subscription in force then
-- (intermediate.int_ticket_subscriptions) -> its price's rate_limit_per_minute and
-- monthly_request_quota (price metadata, else the product's). One row per ticket with a plan.
SELECT s.ticket_id, s.subscription_id, s.price_id, s.subscription_status,
    pr.product_id, pr.rate_limit_per_minute, pr.monthly_request_quota,
    prod.product_name AS plan_name
FROM intermediate.int_ticket_subscriptions AS s
LEFT JOIN staging.stg_stripe__prices AS pr ON pr.price_id = s.price_id
LEFT JOIN staging.stg_stripe__products AS prod ON prod.product_id = pr.product_id
