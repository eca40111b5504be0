-- The rules' evidence for the tickets whose notes are planned ($ticket_ids).
SELECT * FROM heuristics.evidence WHERE list_contains($ticket_ids, ticket_id)
