-- The latest diagnosis of each ticket to deliver: investigated in the current investigation
-- (its evidence is in heuristics.evidence), created at or after $since (NULL: any), among
-- $ticket_ids (NULL: all), still open in the help desk (not solved, closed or deleted).
SELECT d.ticket_id, d.model_version, d.cause, d.top_cause, d.top_probability,
       d.confidence_band, d.escalate, d.abstained, d.action, d.rules_fired, d.diagnosed_at,
       d.decided_by, d.estimated_precision,
       t.group_id, coalesce(t.subject, '') || ' ' || coalesce(t.description, '') AS text
FROM diagnosis.diagnoses AS d
JOIN heuristics.rule_scores AS r USING (ticket_id)
JOIN staging.stg_zendesk__tickets AS t USING (ticket_id)
WHERE NOT coalesce(t.is_deleted, false)
  AND lower(t.status) NOT IN ('solved', 'closed', 'deleted')
  AND (CAST($since AS TIMESTAMP) IS NULL OR t.created_at >= CAST($since AS TIMESTAMP))
  AND (CAST($ticket_ids AS BIGINT[]) IS NULL
       OR list_contains(CAST($ticket_ids AS BIGINT[]), d.ticket_id))
QUALIFY row_number() OVER (PARTITION BY d.ticket_id
                           ORDER BY d.diagnosed_at DESC, d.model_version DESC) = 1
ORDER BY d.ticket_id
