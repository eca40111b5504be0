-- One row per ticket to investigate, with the moment it is investigated.
-- History (default): every ticket, investigated at its creation time ($as_of and $ticket_ids NULL).
-- Live path: $ticket_ids limits the set, $as_of moves the investigation time later
-- (tickets created after $as_of are not investigated). Every later model uses only data
-- stamped at or before investigated_at.
WITH params AS (
    SELECT CAST($as_of AS TIMESTAMP) AS as_of, CAST($ticket_ids AS BIGINT[]) AS ticket_ids
)
SELECT
    t.ticket_id,
    t.organization_id,
    s.org_id,
    s.stripe_customer_id,
    coalesce(t.subject, '') AS subject,
    coalesce(t.description, '') AS description,
    t.created_at,
    coalesce(p.as_of, t.created_at) AS investigated_at
FROM staging.stg_zendesk__tickets AS t
CROSS JOIN params AS p
LEFT JOIN intermediate.int_account_spine AS s
    ON s.zendesk_organization_id = t.organization_id
WHERE NOT coalesce(t.is_deleted, false)
  AND (p.ticket_ids IS NULL OR list_contains(p.ticket_ids, t.ticket_id))
  AND (p.as_of IS NULL OR t.created_at <= p.as_of)
