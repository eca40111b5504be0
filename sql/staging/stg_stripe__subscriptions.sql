-- price/product: the subscription's first item.
WITH first_item AS (
    SELECT _dlt_parent_id, price__id AS price_id, price__product AS product_id
    FROM raw_stripe.subscriptions__items__data
    QUALIFY row_number() OVER (PARTITION BY _dlt_parent_id ORDER BY _dlt_list_idx) = 1
)
SELECT
    s.id AS subscription_id,
    s.customer AS customer_id,
    i.price_id,
    i.product_id,
    s.status,
    make_timestamp(CAST(s.created AS BIGINT) * 1000000) AS created_at,
    make_timestamp(CAST(s.canceled_at AS BIGINT) * 1000000) AS canceled_at,
    make_timestamp(CAST(s.current_period_start AS BIGINT) * 1000000) AS current_period_start
FROM raw_stripe.subscriptions AS s
LEFT JOIN first_item AS i ON i._dlt_parent_id = s._dlt_id
