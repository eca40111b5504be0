SELECT
    CAST(id AS BIGINT) AS deployment_id,
    sha,
    ref,
    payload__service AS service,
    environment,
    description,
    timezone('UTC', created_at) AS created_at,
    url
FROM raw_github.deployments
