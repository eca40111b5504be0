-- As labels.sql, for a warehouse without ticket field history: escalation is unknown (NULL).
-- $tickets: the tickets table (staging.stg_zendesk__tickets, or a backtest's at its start).
SELECT
    t.ticket_id,
    t.created_at,
    t.recorded_root_cause AS recorded_cause,
    CAST(NULL AS BOOLEAN) AS escalated_to_engineering
FROM query_table($tickets) AS t
WHERE t.status IN ('solved', 'closed')
  AND NOT coalesce(t.is_deleted, FALSE)
  AND t.recorded_root_cause IS NOT NULL
  AND ($before IS NULL OR t.created_at < $before)
ORDER BY t.created_at, t.ticket_id
