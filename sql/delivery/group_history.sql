-- Where past tickets ended up: each solved ticket's final (non-engineering) group, its
-- recorded cause and its text. routing.py suggests the group of a misrouted ticket from the
-- most similar of these. Tickets created before $before (NULL: all).
SELECT t.ticket_id, t.group_id, t.recorded_root_cause AS cause,
       coalesce(t.subject, '') || ' ' || coalesce(t.description, '') AS text
FROM staging.stg_zendesk__tickets AS t
JOIN staging.stg_zendesk__groups AS g USING (group_id)
WHERE NOT coalesce(t.is_deleted, false)
  AND lower(t.status) IN ('solved', 'closed')
  AND NOT coalesce(g.is_engineering, false)
  AND (CAST($before AS TIMESTAMP) IS NULL OR t.created_at < CAST($before AS TIMESTAMP))
