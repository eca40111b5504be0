-- `altor investigate`: the ticket asked about, as the help desk has it ($ticket_id).
SELECT subject, created_at, organization_id
FROM staging.stg_zendesk__tickets
WHERE ticket_id = $ticket_id
