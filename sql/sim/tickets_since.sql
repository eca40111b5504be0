-- Tickets created at or after $since (the evaluation period of a world: after go-live).
SELECT ticket_id
FROM staging.stg_zendesk__tickets
WHERE NOT coalesce(is_deleted, FALSE) AND created_at >= $since
ORDER BY ticket_id
