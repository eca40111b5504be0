-- Every note still to send (pending, or failed and to retry), oldest first.
SELECT ticket_id, fingerprint, attempts, request, status
FROM delivery.writebacks
WHERE status IN ('pending', 'failed')
ORDER BY created_at, ticket_id
