-- A planned note, `pending` until it is sent: its fingerprint, kind (initial | update), what it
-- says, and the exact ticket update to send.
INSERT INTO delivery.writebacks
    (ticket_id, fingerprint, note_kind, status, attempts, last_error, written_at, model_version,
     cause, shown_cause, confidence_band, escalate, evidence_ids, group_id, request, comment_id,
     created_at)
VALUES ($ticket_id, $fingerprint, $note_kind, 'pending', 0, NULL, NULL, $model_version,
        $cause, $shown_cause, $confidence_band, $escalate, $evidence_ids, $group_id, $request,
        NULL, $created_at)
