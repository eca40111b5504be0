-- Status intervals of each subscription: its creation, then every customer.subscription.*
-- event (the object's state in data.object). The state at creation is the first event's
-- previous status when that event changed the status, else the first event's status.
-- Consecutive points with the same customer, price and status are one interval.
WITH ev AS (
    SELECT
        data ->> '$.object.id' AS subscription_id,
        data ->> '$.object.customer' AS customer_id,
        data ->> '$.object.items.data[0].price.id' AS price_id,
        data ->> '$.object.status' AS status,
        data ->> '$.previous_attributes.status' AS previous_status,
        CAST(created AS BIGINT) AS point_at,
        id AS event_id
    FROM raw_stripe.events
    WHERE type LIKE 'customer.subscription.%'
),
first_ev AS (
    SELECT * FROM ev
    QUALIFY row_number() OVER (PARTITION BY subscription_id ORDER BY point_at, event_id) = 1
),
first_item AS (
    SELECT _dlt_parent_id, price__id AS price_id
    FROM raw_stripe.subscriptions__items__data
    QUALIFY row_number() OVER (PARTITION BY _dlt_parent_id ORDER BY _dlt_list_idx) = 1
),
points AS (
    SELECT subscription_id, customer_id, price_id, status, point_at, 1 AS ord, event_id FROM ev
    UNION ALL
    SELECT
        s.id, s.customer, coalesce(f.price_id, i.price_id),
        coalesce(f.previous_status, f.status, s.status), CAST(s.created AS BIGINT), 0, NULL
    FROM raw_stripe.subscriptions AS s
    LEFT JOIN first_item AS i ON i._dlt_parent_id = s._dlt_id
    LEFT JOIN first_ev AS f ON f.subscription_id = s.id
    WHERE f.subscription_id IS NULL OR f.point_at > CAST(s.created AS BIGINT)
),
one_per_second AS (
    SELECT * FROM points
    QUALIFY row_number() OVER (PARTITION BY subscription_id, point_at ORDER BY ord DESC,
                                                                         event_id DESC) = 1
),
changes AS (
    SELECT *,
        lag(status) OVER w IS DISTINCT FROM status
        OR lag(price_id) OVER w IS DISTINCT FROM price_id
        OR lag(customer_id) OVER w IS DISTINCT FROM customer_id AS is_change
    FROM one_per_second
    WINDOW w AS (PARTITION BY subscription_id ORDER BY point_at)
),
kept AS (SELECT * FROM changes WHERE is_change)
SELECT
    subscription_id,
    customer_id,
    price_id,
    status,
    make_timestamp(point_at * 1000000) AS valid_from,
    make_timestamp(lead(point_at) OVER (PARTITION BY subscription_id ORDER BY point_at) * 1000000)
        AS valid_to
FROM kept
