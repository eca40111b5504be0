SELECT
    CAST(id AS BIGINT) AS deployment_status_id,
    CAST(regexp_extract(deployment_url, '/deployments/([0-9]+)/?$', 1) AS BIGINT)
        AS deployment_id,
    state,
    description,
    timezone('UTC', created_at) AS created_at
FROM raw_github.deployment_statuses
