-- The notes already planned or written for $ticket_ids, oldest first. Grain: one row per
-- (ticket, fingerprint).
SELECT * FROM delivery.writebacks
WHERE list_contains($ticket_ids, ticket_id)
ORDER BY created_at, note_kind
