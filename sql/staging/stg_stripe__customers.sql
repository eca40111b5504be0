-- Customers deleted in Stripe (seen through customer.deleted events) are left out.
SELECT
    id AS customer_id,
    metadata__org_id AS org_id,
    name AS customer_name,
    email,
    CAST(delinquent AS BOOLEAN) AS is_delinquent,
    make_timestamp(CAST(created AS BIGINT) * 1000000) AS created_at
FROM raw_stripe.customers
WHERE NOT coalesce(deleted, false)
