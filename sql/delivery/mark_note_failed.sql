-- A note whose last attempt failed: the error (redacted) is kept and the next run retries it.
UPDATE delivery.writebacks
SET status = 'failed', last_error = $error
WHERE ticket_id = $ticket_id AND fingerprint = $fingerprint
