-- One row per field set or changed, from the incremental ticket-events export (child events
-- of type Create/Change). The root-cause custom field ($root_cause_field_id) is 'root_cause'.
SELECT
    CAST(e.ticket_id AS BIGINT) AS ticket_id,
    CASE WHEN u.c.field_name = CAST($root_cause_field_id AS VARCHAR) THEN 'root_cause'
         ELSE u.c.field_name END AS field_name,
    u.c.value AS value,
    u.c.previous_value AS previous_value,
    timezone('UTC', e.created_at) AS updated_at,
    CAST(e.updater_id AS BIGINT) AS updater_id,
    CAST(e.id AS BIGINT) AS event_id
FROM raw_zendesk.ticket_events AS e,
     unnest(from_json(coalesce(e.child_events, '[]'),
                      '[{"event_type": "VARCHAR", "field_name": "VARCHAR", "value": "VARCHAR",
                         "previous_value": "VARCHAR"}]')) AS u(c)
WHERE u.c.event_type IN ('Create', 'Change') AND u.c.field_name IS NOT NULL
