SELECT
    CAST(id AS BIGINT) AS comment_id,
    CAST(ticket_id AS BIGINT) AS ticket_id,
    CAST(author_id AS BIGINT) AS author_id,
    CAST(public AS BOOLEAN) AS is_public,
    body,
    timezone('UTC', created_at) AS created_at
FROM raw_zendesk.ticket_comments
