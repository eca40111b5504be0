-- A note the help desk has: when it was written (the help desk's time) and its comment id.
UPDATE delivery.writebacks
SET status = 'written', written_at = $written_at, comment_id = $comment_id
WHERE ticket_id = $ticket_id AND fingerprint = $fingerprint
