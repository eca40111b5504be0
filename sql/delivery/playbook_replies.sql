-- Public agent replies that resolved past tickets at first contact, per recorded cause: the
-- corpus the playbook learns recommended replies from (altor_pipelines/delivery/playbook.py).
-- First contact: solved/closed, exactly one public agent comment, never reopened (solved at
-- most once in the field history). An agent comment: its author is an agent/admin, or (author
-- not among the synced users) anyone but the ticket's requester.
-- Only tickets created before $before (NULL: all) count, so a reply never teaches itself.
WITH tickets AS (
    SELECT ticket_id, organization_id, requester_id, recorded_root_cause AS cause, created_at
    FROM staging.stg_zendesk__tickets
    WHERE NOT coalesce(is_deleted, false)
      AND lower(status) IN ('solved', 'closed')
      AND recorded_root_cause IS NOT NULL
      AND (CAST($before AS TIMESTAMP) IS NULL OR created_at < CAST($before AS TIMESTAMP))
),
agent_public AS (
    SELECT c.ticket_id, c.comment_id, c.body, c.created_at
    FROM staging.stg_zendesk__ticket_comments AS c
    JOIN tickets AS t USING (ticket_id)
    LEFT JOIN staging.stg_zendesk__users AS u ON u.user_id = c.author_id
    WHERE coalesce(c.is_public, false)
      AND coalesce(u.role IN ('agent', 'admin'), c.author_id <> t.requester_id)
),
solves AS (
    SELECT ticket_id, count(*) AS times_solved
    FROM staging.stg_zendesk__ticket_field_history
    WHERE field_name = 'status' AND value = 'solved'
    GROUP BY ticket_id
)
SELECT t.ticket_id, t.cause, any_value(a.body) AS reply, t.created_at
FROM tickets AS t
JOIN agent_public AS a USING (ticket_id)
LEFT JOIN solves AS s USING (ticket_id)
WHERE coalesce(s.times_solved, 1) <= 1
GROUP BY t.ticket_id, t.cause, t.created_at
HAVING count(*) = 1
ORDER BY t.cause, t.ticket_id
