-- One row per status a ticket went through, from the ticket-events history
-- (dbt_zendesk: int_zendesk__ticket_historical_status). A ticket with no status history gets
-- one row: its current status, from its creation. valid_to is NULL for the current status.
WITH changes AS (
    SELECT ticket_id, lower(value) AS status, updated_at AS valid_from, event_id
    FROM staging.stg_zendesk__ticket_field_history
    WHERE field_name = 'status' AND value IS NOT NULL AND value <> ''
),
without_history AS (
    SELECT t.ticket_id, lower(t.status) AS status, t.created_at AS valid_from,
           CAST(NULL AS BIGINT) AS event_id
    FROM staging.stg_zendesk__tickets AS t
    WHERE t.status IS NOT NULL
      AND t.ticket_id NOT IN (SELECT ticket_id FROM changes)
),
statuses AS (
    SELECT * FROM changes
    UNION ALL
    SELECT * FROM without_history
)
SELECT
    ticket_id,
    row_number() OVER w AS status_number,
    status,
    lag(status) OVER w AS previous_status,
    valid_from,
    lead(valid_from) OVER w AS valid_to
FROM statuses
WINDOW w AS (PARTITION BY ticket_id ORDER BY valid_from, event_id NULLS FIRST)
