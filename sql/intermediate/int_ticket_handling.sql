-- One row per ticket: how it was handled, in dbt_zendesk's terms (zendesk__ticket_metrics).
-- Comments: an agent comment is one whose author has role agent or admin; the opening comment
-- is the ticket's first public comment. Replies, resolutions and stations as in dbt_zendesk:
--   first_reply_at      first public agent comment after the opening comment
--   first/last_solved_at first/last change to `solved` (`closed` when never solved)
--   count_reopens       solved count - 1
--   group/assignee stations: non-null values the field took (int_ticket_group_history).
-- Investigation marks for mart_ticket_outcomes:
--   first_internal_agent_comment_at  first internal (non-public) comment by an agent
--   first_engineering_finding_at     first internal agent comment after the escalation (the
--                                    hand-over note written as the ticket moves does not count)
WITH comments AS (
    SELECT
        c.ticket_id,
        c.comment_id,
        c.created_at,
        coalesce(c.is_public, false) AS is_public,
        coalesce(u.role IN ('agent', 'admin'), false) AS is_agent,
        row_number() OVER (
            PARTITION BY c.ticket_id, coalesce(c.is_public, false)
            ORDER BY c.created_at, c.comment_id
        ) AS public_number
    FROM staging.stg_zendesk__ticket_comments AS c
    LEFT JOIN staging.stg_zendesk__users AS u ON u.user_id = c.author_id
),
opening AS (
    SELECT ticket_id, min(created_at) AS opening_comment_at
    FROM comments WHERE is_public GROUP BY ticket_id
),
comment_metrics AS (
    SELECT
        c.ticket_id,
        count(*) FILTER (WHERE c.is_agent AND c.is_public) AS count_public_agent_comments,
        count(*) FILTER (WHERE c.is_agent) AS count_agent_comments,
        count(*) FILTER (WHERE NOT c.is_agent) AS count_end_user_comments,
        count(*) FILTER (WHERE c.is_public) AS count_public_comments,
        count(*) FILTER (WHERE NOT c.is_public) AS count_internal_comments,
        count(*) AS total_comments,
        count(*) FILTER (WHERE c.is_agent AND c.is_public AND c.public_number > 1)
            AS total_agent_replies,
        min(c.created_at) FILTER (
            WHERE c.is_agent AND c.is_public AND c.created_at > o.opening_comment_at
        ) AS first_reply_at,
        min(c.created_at) FILTER (WHERE c.is_agent AND NOT c.is_public)
            AS first_internal_agent_comment_at,
        min(c.created_at) FILTER (
            WHERE c.is_agent AND NOT c.is_public AND c.created_at > e.escalated_at
        ) AS first_engineering_finding_at
    FROM comments AS c
    LEFT JOIN opening AS o USING (ticket_id)
    LEFT JOIN intermediate.int_ticket_escalations AS e USING (ticket_id)
    GROUP BY c.ticket_id
),
solves AS (
    SELECT
        ticket_id,
        coalesce(min(valid_from) FILTER (WHERE status = 'solved'),
                 min(valid_from) FILTER (WHERE status = 'closed')) AS first_solved_at,
        coalesce(max(valid_from) FILTER (WHERE status = 'solved'),
                 max(valid_from) FILTER (WHERE status = 'closed')) AS last_solved_at,
        count(*) FILTER (WHERE status = 'solved') AS count_resolutions
    FROM intermediate.int_ticket_status_history
    GROUP BY ticket_id
),
group_stations AS (
    SELECT ticket_id, count(*) AS group_stations_count
    FROM intermediate.int_ticket_group_history
    GROUP BY ticket_id
),
assignee_stations AS (
    SELECT ticket_id, count(*) AS assignee_stations_count
    FROM staging.stg_zendesk__ticket_field_history
    WHERE field_name = 'assignee_id' AND value IS NOT NULL AND value <> ''
    GROUP BY ticket_id
)
SELECT
    t.ticket_id,
    coalesce(m.count_public_agent_comments, 0) AS count_public_agent_comments,
    coalesce(m.count_agent_comments, 0) AS count_agent_comments,
    coalesce(m.count_end_user_comments, 0) AS count_end_user_comments,
    coalesce(m.count_public_comments, 0) AS count_public_comments,
    coalesce(m.count_internal_comments, 0) AS count_internal_comments,
    coalesce(m.total_comments, 0) AS total_comments,
    coalesce(m.total_agent_replies, 0) AS total_agent_replies,
    m.first_reply_at,
    date_diff('second', t.created_at, m.first_reply_at) / 60.0
        AS first_reply_time_calendar_minutes,
    s.first_solved_at,
    s.last_solved_at,
    date_diff('second', t.created_at, s.first_solved_at) / 60.0
        AS first_resolution_calendar_minutes,
    date_diff('second', t.created_at, s.last_solved_at) / 60.0
        AS final_resolution_calendar_minutes,
    coalesce(s.count_resolutions, 0) AS count_resolutions,
    greatest(coalesce(s.count_resolutions, 0) - 1, 0) AS count_reopens,
    coalesce(g.group_stations_count, 0) AS group_stations_count,
    coalesce(a.assignee_stations_count, CASE WHEN t.assignee_id IS NOT NULL THEN 1 ELSE 0 END)
        AS assignee_stations_count,
    m.first_internal_agent_comment_at,
    m.first_engineering_finding_at
FROM staging.stg_zendesk__tickets AS t
LEFT JOIN comment_metrics AS m USING (ticket_id)
LEFT JOIN solves AS s USING (ticket_id)
LEFT JOIN group_stations AS g USING (ticket_id)
LEFT JOIN assignee_stations AS a USING (ticket_id)
