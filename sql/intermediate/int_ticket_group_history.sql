-- One row per group station of a ticket: each time the ticket was put in a group, from the
-- ticket-events history (dbt_zendesk: int_zendesk__ticket_historical_group; a station is
-- every non-null group_id value, repeats included). A ticket with no group history gets one
-- station: its current group, from its creation. valid_to is NULL for the current station.
WITH moves AS (
    SELECT
        ticket_id,
        TRY_CAST(value AS BIGINT) AS group_id,
        updated_at AS valid_from,
        event_id
    FROM staging.stg_zendesk__ticket_field_history
    WHERE field_name = 'group_id' AND value IS NOT NULL AND value <> ''
),
without_history AS (
    SELECT t.ticket_id, t.group_id, t.created_at AS valid_from, CAST(NULL AS BIGINT) AS event_id
    FROM staging.stg_zendesk__tickets AS t
    WHERE t.group_id IS NOT NULL
      AND t.ticket_id NOT IN (SELECT ticket_id FROM moves)
),
stations AS (
    SELECT * FROM moves WHERE group_id IS NOT NULL
    UNION ALL
    SELECT * FROM without_history
),
ordered AS (
    SELECT
        s.ticket_id,
        s.group_id,
        s.valid_from,
        lead(s.valid_from) OVER w AS valid_to,
        row_number() OVER w AS station_number,
        g.group_name,
        coalesce(g.is_engineering, false) AS is_engineering
    FROM stations AS s
    LEFT JOIN staging.stg_zendesk__groups AS g ON g.group_id = s.group_id
    WINDOW w AS (PARTITION BY s.ticket_id ORDER BY s.valid_from, s.event_id NULLS FIRST)
)
SELECT
    ticket_id,
    station_number,
    group_id,
    group_name,
    is_engineering,
    valid_from,
    valid_to,
    -- an escalation: entering an engineering group from a non-engineering one (or at creation)
    is_engineering AND NOT coalesce(
        lag(is_engineering) OVER (PARTITION BY ticket_id ORDER BY station_number), false
    ) AS is_escalation_entry
FROM ordered
