SELECT
    CAST(id AS BIGINT) AS group_id,
    name AS group_name,
    coalesce(contains(name, 'Engineering'), false) AS is_engineering
FROM raw_zendesk.groups
