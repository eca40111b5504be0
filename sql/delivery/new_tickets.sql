-- Open tickets created in [$since, $now] that have no diagnosis yet: what a live cycle
-- investigates. Grain: one row per ticket.
SELECT t.ticket_id, t.created_at
FROM staging.stg_zendesk__tickets AS t
WHERE NOT coalesce(t.is_deleted, false)
  AND lower(t.status) NOT IN ('solved', 'closed', 'deleted')
  AND t.created_at >= CAST($since AS TIMESTAMP)
  AND t.created_at <= CAST($now AS TIMESTAMP)
  AND t.ticket_id NOT IN (SELECT ticket_id FROM diagnosis.diagnoses)
ORDER BY t.ticket_id
