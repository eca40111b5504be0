-- The help desk's tickets as they stood at $as_of (a backtest window's start): created before
-- it, with the status and recorded root cause last set before it (ticket field history), so a
-- model trained on them learns nothing the team did not know yet.
WITH last_values AS (
    SELECT ticket_id, field_name, arg_max(value, (updated_at, event_id)) AS value
    FROM staging.stg_zendesk__ticket_field_history
    WHERE updated_at < CAST($as_of AS TIMESTAMP) AND field_name IN ('status', 'root_cause')
    GROUP BY ALL
)
SELECT t.* REPLACE (s.value AS status, r.value AS recorded_root_cause)
FROM staging.stg_zendesk__tickets AS t
LEFT JOIN last_values AS s ON s.ticket_id = t.ticket_id AND s.field_name = 'status'
LEFT JOIN last_values AS r ON r.ticket_id = t.ticket_id AND r.field_name = 'root_cause'
WHERE t.created_at < CAST($as_of AS TIMESTAMP)
