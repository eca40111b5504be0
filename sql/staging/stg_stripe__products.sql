SELECT
    id AS product_id,
    name AS product_name,
    CAST(active AS BOOLEAN) AS is_active,
    CAST(metadata__rate_limit_per_minute AS INTEGER) AS rate_limit_per_minute,
    CAST(metadata__monthly_request_quota AS BIGINT) AS monthly_request_quota
FROM raw_stripe.products
WHERE NOT coalesce(deleted, false)
