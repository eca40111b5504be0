-- One row per ticket (deleted and merged ones included, flagged): escalation, its cause,
-- one/two-touch, reopens, first-contact resolution, reply/resolution/investigation times,
-- the first automated diagnosis, and the period (before/after $go_live, by created_at).
-- Definitions: docs/metrics.md. Rates elsewhere use is_in_scope tickets only.
WITH params AS (
    SELECT CAST($go_live AS TIMESTAMP) AS go_live
),
tickets AS (
    SELECT
        t.*,
        lower(t.status) AS status_lower,
        list_contains(coalesce(t.tags, []), 'closed_by_merge') AS is_closed_by_merge,
        (coalesce(t.is_deleted, false) OR lower(t.status) = 'deleted') AS is_deleted_ticket
    FROM staging.stg_zendesk__tickets AS t
),
zendesk_metrics AS (
    -- Zendesk's own TicketMetric (latest version), for business-hours variants
    SELECT *
    FROM staging.stg_zendesk__ticket_metrics
    QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY updated_at DESC NULLS LAST) = 1
),
first_diagnosis AS (
    SELECT
        ticket_id,
        diagnosed_at,
        cause AS root_cause,
        (cause IS NOT NULL AND NOT coalesce(abstained, false)) AS is_delivered,
        escalate AS should_escalate,
        top_probability AS confidence,
        model_version
    FROM diagnosis.diagnoses
    QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY diagnosed_at, cause) = 1
),
first_note AS (
    -- when the diagnosis reached the agent: the first Altor note in the help desk (internal,
    -- carrying the note's marker, altor_pipelines/delivery/note.py MARKER)
    SELECT ticket_id, min(created_at) AS first_noted_at
    FROM staging.stg_zendesk__ticket_comments
    WHERE NOT is_public AND contains(body, 'altor-diagnosis:')
    GROUP BY ticket_id
),
orgs AS (
    SELECT organization_id, external_id AS org_id, organization_name
    FROM staging.stg_zendesk__organizations
),
base AS (
    SELECT
        t.ticket_id,
        t.organization_id,
        o.org_id,
        o.organization_name,
        t.created_at,
        CAST(date_trunc('week', t.created_at) AS DATE) AS created_week,
        CASE WHEN t.created_at < p.go_live THEN 'before' ELSE 'after' END AS period,
        t.status_lower AS status,
        t.is_deleted_ticket AS is_deleted,
        t.is_closed_by_merge,
        t.status_lower IN ('solved', 'closed') AS is_solved,
        NOT t.is_deleted_ticket AND NOT t.is_closed_by_merge AS is_in_scope,
        t.recorded_root_cause,
        e.is_escalated,
        e.escalated_at,
        e.escalation_channel,
        e.count_group_escalations,
        e.linked_issue_identifier,
        e.moved_to_other_team_after_escalation,
        h.*  EXCLUDE (ticket_id),
        z.first_reply_time_business_minutes AS zendesk_first_reply_time_business_minutes,
        z.first_resolution_time_business_minutes AS zendesk_first_resolution_business_minutes,
        z.full_resolution_time_business_minutes AS zendesk_full_resolution_business_minutes,
        d.diagnosed_at AS first_diagnosed_at,
        n.first_noted_at,
        d.root_cause AS diagnosed_root_cause,
        d.is_delivered AS is_diagnosis_delivered,
        d.should_escalate AS diagnosis_should_escalate,
        d.confidence AS diagnosis_confidence,
        d.model_version AS diagnosis_model_version,
        p.go_live
    FROM tickets AS t
    CROSS JOIN params AS p
    LEFT JOIN orgs AS o USING (organization_id)
    LEFT JOIN intermediate.int_ticket_escalations AS e USING (ticket_id)
    LEFT JOIN intermediate.int_ticket_handling AS h USING (ticket_id)
    LEFT JOIN zendesk_metrics AS z USING (ticket_id)
    LEFT JOIN first_diagnosis AS d USING (ticket_id)
    LEFT JOIN first_note AS n USING (ticket_id)
),
outcomes AS (
    SELECT
        *,
        CASE
            WHEN NOT is_escalated THEN NULL
            WHEN recorded_root_cause = 'misrouted' THEN 'misrouted'
            WHEN recorded_root_cause = 'novel' THEN 'novel'
            WHEN moved_to_other_team_after_escalation THEN 'misrouted'
            ELSE 'system_access'
        END AS escalation_cause,
        CASE
            WHEN NOT is_escalated THEN NULL
            WHEN recorded_root_cause IN ('misrouted', 'novel') THEN 'recorded_cause'
            WHEN moved_to_other_team_after_escalation THEN 'routing'
            ELSE 'remainder'
        END AS escalation_cause_source,
        -- manual investigation: escalated tickets -> first internal agent comment after the
        -- escalation; others -> first internal agent comment
        CASE WHEN is_escalated THEN first_engineering_finding_at
             ELSE first_internal_agent_comment_at END AS manual_investigation_at
    FROM base
)
SELECT
    ticket_id,
    organization_id,
    org_id,
    organization_name,
    created_at,
    created_week,
    period,
    status,
    is_deleted,
    is_closed_by_merge,
    is_solved,
    is_in_scope,
    recorded_root_cause,
    -- escalation
    coalesce(is_escalated, false) AS is_escalated,
    escalated_at,
    escalation_channel,
    coalesce(count_group_escalations, 0) AS count_escalations,
    linked_issue_identifier,
    escalation_cause,
    escalation_cause_source,
    coalesce(escalation_cause = 'system_access'
             AND recorded_root_cause IN ('known_bug', 'platform_incident', 'plan_limit',
                                         'billing_issue', 'customer_integration', 'how_to'),
             false) AS is_avoidable_escalation,
    -- touches, reopens, first-contact resolution (dbt_zendesk zendesk__ticket_metrics)
    count_public_agent_comments,
    count_agent_comments,
    count_internal_comments,
    total_agent_replies,
    is_solved AND count_public_agent_comments = 1 AS is_one_touch_resolution,
    is_solved AND count_public_agent_comments = 2 AS is_two_touch_resolution,
    is_solved AND count_public_agent_comments NOT IN (1, 2) AS is_multi_touch_resolution,
    count_resolutions,
    count_reopens,
    count_reopens > 0 AS is_reopened,
    is_solved AND count_public_agent_comments = 1 AND count_reopens = 0
        AS is_first_contact_resolution,
    group_stations_count,
    assignee_stations_count,
    -- times (minutes)
    first_reply_at,
    CASE WHEN count_public_agent_comments > 0 THEN first_reply_time_calendar_minutes END
        AS first_reply_time_calendar_minutes,
    CASE WHEN count_public_agent_comments > 0 THEN zendesk_first_reply_time_business_minutes END
        AS first_reply_time_business_minutes,
    first_solved_at,
    last_solved_at,
    first_resolution_calendar_minutes,
    CASE WHEN is_solved THEN zendesk_first_resolution_business_minutes END
        AS first_resolution_business_minutes,
    CASE WHEN is_solved THEN final_resolution_calendar_minutes END
        AS full_resolution_calendar_minutes,
    CASE WHEN is_solved THEN zendesk_full_resolution_business_minutes END
        AS full_resolution_business_minutes,
    -- investigation
    manual_investigation_at,
    date_diff('second', created_at, manual_investigation_at) / 60.0
        AS manual_investigation_minutes,
    first_diagnosed_at,
    date_diff('second', created_at, first_diagnosed_at) / 60.0 AS diagnosis_minutes,
    first_noted_at,
    CASE
        WHEN period = 'after' AND first_diagnosed_at IS NOT NULL THEN 'diagnosis'
        WHEN manual_investigation_at IS NOT NULL THEN 'manual'
    END AS investigation_source,
    -- after go-live: creation -> the note in the help desk (the diagnosis when no note was
    -- written, e.g. a batch run without write-back)
    CASE
        WHEN period = 'after' AND first_diagnosed_at IS NOT NULL
            THEN date_diff('second', created_at, coalesce(first_noted_at, first_diagnosed_at))
                 / 60.0
        ELSE date_diff('second', created_at, manual_investigation_at) / 60.0
    END AS investigation_minutes,
    -- the first automated diagnosis
    diagnosed_root_cause,
    coalesce(is_diagnosis_delivered, false) AS is_diagnosis_delivered,
    first_diagnosed_at IS NOT NULL AND NOT is_diagnosis_delivered AS is_diagnosis_abstained,
    diagnosis_should_escalate,
    diagnosis_confidence,
    diagnosis_model_version,
    CASE WHEN is_diagnosis_delivered AND recorded_root_cause IS NOT NULL
         THEN diagnosed_root_cause = recorded_root_cause END AS diagnosis_agrees_with_recorded,
    coalesce(is_escalated AND is_diagnosis_delivered
             AND diagnosed_root_cause = recorded_root_cause
             AND NOT coalesce(diagnosis_should_escalate, false)
             AND diagnosed_root_cause IN ('known_bug', 'platform_incident', 'plan_limit',
                                          'billing_issue', 'customer_integration', 'how_to'),
             false) AS is_removable_by_diagnosis
FROM outcomes
