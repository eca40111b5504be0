-- The subscriptions' items as dlt nests them (one row per item, `_dlt_parent_id` the
-- subscription's `_dlt_id`), with the columns staging reads (stg_stripe__subscriptions,
-- stg_stripe__subscription_history). dlt creates a nested table only with a first item, so an
-- account with no subscription items yet gets it empty, typed as dlt types these columns;
-- dlt adopts the table (adding the item's other columns) when items arrive.
CREATE TABLE IF NOT EXISTS raw_stripe.subscriptions__items__data (
    id VARCHAR,
    price__id VARCHAR,
    price__product VARCHAR,
    _dlt_root_id VARCHAR,
    _dlt_parent_id VARCHAR,
    _dlt_list_idx BIGINT,
    _dlt_id VARCHAR
)
