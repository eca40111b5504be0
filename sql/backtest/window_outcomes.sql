-- Every ticket created in [$window_start, $window_end): what is known of it now (the recorded
-- root cause, whether it was escalated to an engineering group) beside the diagnosis the
-- backtest made for it at its creation (backtest.diagnoses).
WITH escalated AS (
    SELECT DISTINCT h.ticket_id
    FROM staging.stg_zendesk__ticket_field_history AS h
    JOIN staging.stg_zendesk__groups AS g
      ON h.field_name = 'group_id' AND TRY_CAST(h.value AS BIGINT) = g.group_id
    WHERE g.is_engineering
)
SELECT
    t.ticket_id,
    t.created_at,
    t.recorded_root_cause,
    e.ticket_id IS NOT NULL AS is_escalated,
    d.cause AS delivered_cause,
    d.top_cause,
    d.top_probability,
    d.abstained,
    d.escalate AS diagnosis_escalates
FROM staging.stg_zendesk__tickets AS t
LEFT JOIN escalated AS e ON e.ticket_id = t.ticket_id
LEFT JOIN backtest.diagnoses AS d ON d.ticket_id = t.ticket_id
WHERE NOT coalesce(t.is_deleted, false)
  AND t.created_at >= CAST($window_start AS TIMESTAMP)
  AND t.created_at < CAST($window_end AS TIMESTAMP)
ORDER BY t.ticket_id
