-- Users the export reports deleted are left out.
SELECT
    CAST(id AS BIGINT) AS user_id,
    name AS user_name,
    email,
    role,
    CAST(organization_id AS BIGINT) AS organization_id
FROM raw_zendesk.users
WHERE NOT coalesce(deleted, false)
