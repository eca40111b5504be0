-- The text a ticket arrives with (subject and first description), its creation time; nothing
-- written after the ticket was opened (comments, tags set by agents) is used.
SELECT
    t.ticket_id,
    t.created_at,
    coalesce(t.subject, '') || E'\n' || coalesce(t.description, '') AS text
FROM staging.stg_zendesk__tickets AS t
WHERE NOT coalesce(t.is_deleted, FALSE)
