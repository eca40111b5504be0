-- Organizations the export reports deleted are left out.
SELECT
    CAST(id AS BIGINT) AS organization_id,
    name AS organization_name,
    external_id,
    timezone('UTC', created_at) AS created_at
FROM raw_zendesk.organizations
WHERE NOT coalesce(deleted, false)
