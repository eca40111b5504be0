-- One row per ticket: was it escalated to engineering, when, how, and where it went next.
-- Escalated = put in a group whose name contains "Engineering" at any time (group history),
-- or linked to an engineering issue it caused: a ticket tag `linear_<identifier>` (e.g.
-- `linear_eng-482`) naming a Linear issue created at or after the ticket. A link to an issue
-- that already existed (a known bug) is not an escalation: the agent answered with it.
-- Frontline group: the ticket's first non-engineering group before its first escalation; for a
-- ticket created straight in engineering, the most common first group of all tickets.
WITH tickets AS (
    SELECT ticket_id, created_at, tags
    FROM staging.stg_zendesk__tickets
),
stations AS (
    SELECT * FROM intermediate.int_ticket_group_history
),
group_escalation AS (
    SELECT
        ticket_id,
        min(valid_from) FILTER (WHERE is_engineering) AS first_group_escalated_at,
        count(*) FILTER (WHERE is_escalation_entry) AS count_group_escalations,
        count(*) FILTER (WHERE is_engineering) AS engineering_stations_count
    FROM stations
    GROUP BY ticket_id
),
most_common_first_group AS (
    SELECT group_id
    FROM stations
    WHERE station_number = 1 AND NOT is_engineering
    GROUP BY group_id
    ORDER BY count(*) DESC, group_id
    LIMIT 1
),
frontline AS (
    SELECT
        s.ticket_id,
        arg_min(s.group_id, s.station_number) FILTER (
            WHERE NOT s.is_engineering
              AND (e.first_group_escalated_at IS NULL OR s.valid_from <= e.first_group_escalated_at)
        ) AS own_frontline_group_id
    FROM stations AS s
    JOIN group_escalation AS e USING (ticket_id)
    GROUP BY s.ticket_id
),
tags AS (
    SELECT ticket_id, created_at, lower(unnest(tags)) AS tag
    FROM tickets
),
links AS (
    SELECT
        t.ticket_id,
        min(i.created_at) AS first_linked_at,
        arg_min(i.identifier, i.created_at) AS linked_issue_identifier
    FROM tags AS t
    JOIN staging.stg_linear__issues AS i
      ON t.tag IN ('linear_' || lower(i.identifier), 'linear_' || replace(lower(i.identifier), '-', '_'))
     AND i.created_at >= t.created_at
    GROUP BY t.ticket_id
),
joined AS (
    SELECT
        t.ticket_id,
        t.created_at,
        coalesce(f.own_frontline_group_id, (SELECT group_id FROM most_common_first_group))
            AS frontline_group_id,
        e.first_group_escalated_at,
        coalesce(e.count_group_escalations, 0) AS count_group_escalations,
        coalesce(e.engineering_stations_count, 0) AS engineering_stations_count,
        l.linked_issue_identifier,
        l.first_linked_at
    FROM tickets AS t
    LEFT JOIN group_escalation AS e USING (ticket_id)
    LEFT JOIN frontline AS f USING (ticket_id)
    LEFT JOIN links AS l USING (ticket_id)
),
after_escalation AS (
    -- non-engineering groups the ticket went to after its first escalation
    SELECT
        j.ticket_id,
        bool_or(s.group_id <> j.frontline_group_id OR j.frontline_group_id IS NULL)
            AS moved_to_other_team,
        bool_or(s.group_id = j.frontline_group_id) AS returned_to_frontline,
        arg_min(s.group_id, s.station_number) FILTER (WHERE s.group_id <> j.frontline_group_id)
            AS other_team_group_id
    FROM joined AS j
    JOIN stations AS s
      ON s.ticket_id = j.ticket_id
     AND NOT s.is_engineering
     AND s.valid_from > j.first_group_escalated_at
    GROUP BY j.ticket_id
)
SELECT
    j.ticket_id,
    (j.first_group_escalated_at IS NOT NULL OR j.first_linked_at IS NOT NULL) AS is_escalated,
    least(j.first_group_escalated_at, j.first_linked_at) AS escalated_at,
    CASE
        WHEN j.first_group_escalated_at IS NOT NULL AND j.first_linked_at IS NOT NULL THEN 'both'
        WHEN j.first_group_escalated_at IS NOT NULL THEN 'engineering_group'
        WHEN j.first_linked_at IS NOT NULL THEN 'engineering_issue'
    END AS escalation_channel,
    j.first_group_escalated_at,
    j.count_group_escalations,
    j.engineering_stations_count,
    j.linked_issue_identifier,
    j.first_linked_at,
    j.frontline_group_id,
    coalesce(a.returned_to_frontline, false) AS returned_to_frontline,
    coalesce(a.moved_to_other_team, false) AS moved_to_other_team_after_escalation,
    a.other_team_group_id
FROM joined AS j
LEFT JOIN after_escalation AS a USING (ticket_id)
