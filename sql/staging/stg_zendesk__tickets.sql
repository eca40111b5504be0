-- Zendesk tickets as of the last sync (deleted ones kept, status 'deleted').
-- recorded_root_cause: the custom field whose id is $root_cause_field_id.
WITH root_cause AS (
    SELECT t.id AS ticket_id, u.cf.value AS recorded_root_cause
    FROM raw_zendesk.tickets AS t,
         unnest(from_json(coalesce(t.custom_fields, '[]'),
                          '[{"id": "BIGINT", "value": "VARCHAR"}]')) AS u(cf)
    WHERE u.cf.id = CAST($root_cause_field_id AS BIGINT)
    QUALIFY row_number() OVER (PARTITION BY t.id) = 1
)
SELECT
    CAST(t.id AS BIGINT) AS ticket_id,
    CAST(t.organization_id AS BIGINT) AS organization_id,
    CAST(t.requester_id AS BIGINT) AS requester_id,
    CAST(t.submitter_id AS BIGINT) AS submitter_id,
    CAST(t.assignee_id AS BIGINT) AS assignee_id,
    CAST(t.group_id AS BIGINT) AS group_id,
    t.subject,
    t.description,
    t.status,
    t.priority,
    t.type AS ticket_type,
    t.via__channel AS channel,
    from_json(coalesce(t.tags, '[]'), '["VARCHAR"]') AS tags,
    rc.recorded_root_cause,
    timezone('UTC', t.created_at) AS created_at,
    timezone('UTC', t.updated_at) AS updated_at,
    coalesce(t.status = 'deleted', false) AS is_deleted
FROM raw_zendesk.tickets AS t
LEFT JOIN root_cause AS rc ON rc.ticket_id = t.id
