-- Plan limits: the price's metadata, else its product's.
SELECT
    p.id AS price_id,
    p.product AS product_id,
    CAST(p.unit_amount AS BIGINT) AS unit_amount,
    p.currency,
    p.recurring__interval AS interval,
    CAST(coalesce(p.metadata__rate_limit_per_minute, pr.metadata__rate_limit_per_minute)
         AS INTEGER) AS rate_limit_per_minute,
    CAST(coalesce(p.metadata__monthly_request_quota, pr.metadata__monthly_request_quota)
         AS BIGINT) AS monthly_request_quota
FROM raw_stripe.prices AS p
LEFT JOIN raw_stripe.products AS pr ON pr.id = p.product
WHERE NOT coalesce(p.deleted, false)
