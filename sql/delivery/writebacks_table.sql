-- delivery.writebacks: one row per diagnosis note (ticket, fingerprint), its state and the
-- exact request sent, so a failed write is retried with the same note and nothing is lost.
-- status: pending (not yet sent or to retry) | failed (last attempt failed; retried next run)
--         | written | superseded (a newer diagnosis replaced it before it was written).
CREATE TABLE IF NOT EXISTS delivery.writebacks (
    ticket_id        BIGINT    NOT NULL,
    fingerprint      VARCHAR   NOT NULL, -- sha256 of cause, band, escalate, evidence ids, model
    note_kind        VARCHAR   NOT NULL, -- initial | update
    status           VARCHAR   NOT NULL,
    attempts         INTEGER   NOT NULL, -- write-back runs that tried it (each with HTTP retries)
    last_error       VARCHAR,
    written_at       TIMESTAMP,          -- UTC, the help desk's time of the write (its audit)
    model_version    VARCHAR,
    cause            VARCHAR,            -- NULL when the model abstained
    shown_cause      VARCHAR,            -- the cause whose evidence the note shows
    confidence_band  VARCHAR,
    escalate         BOOLEAN,
    evidence_ids     VARCHAR[],          -- source:object_id of the evidence the note cites
    group_id         BIGINT,             -- the group a misrouted ticket was moved to
    request          JSON,               -- the ticket update sent (note, tags, fields)
    comment_id       BIGINT,             -- the note's id in the help desk
    created_at       TIMESTAMP NOT NULL, -- UTC (the pipeline's clock)
    PRIMARY KEY (ticket_id, fingerprint)
)
