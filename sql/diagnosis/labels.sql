-- Training labels from help-desk history (never from truth/): the root cause recorded when a
-- ticket was solved or closed, and whether it was ever moved to an Engineering group.
-- $before: only tickets created before this time (NULL: all). The tables are parameters
-- ($tickets: staging.stg_zendesk__tickets, $field_history, $groups), so a backtest reads the
-- help desk as it stood at a window's start (sql/backtest/*_at_start.sql).
WITH escalations AS (
    SELECT DISTINCT h.ticket_id
    FROM query_table($field_history) AS h
    JOIN query_table($groups) AS g
      ON h.field_name = 'group_id' AND TRY_CAST(h.value AS BIGINT) = g.group_id
    WHERE g.is_engineering
)
SELECT
    t.ticket_id,
    t.created_at,
    t.recorded_root_cause AS recorded_cause,
    e.ticket_id IS NOT NULL AS escalated_to_engineering
FROM query_table($tickets) AS t
LEFT JOIN escalations AS e ON e.ticket_id = t.ticket_id
WHERE t.status IN ('solved', 'closed')
  AND NOT coalesce(t.is_deleted, FALSE)
  AND t.recorded_root_cause IS NOT NULL
  AND ($before IS NULL OR t.created_at < $before)
ORDER BY t.created_at, t.ticket_id
