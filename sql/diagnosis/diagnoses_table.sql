-- diagnosis.diagnoses: one row per ticket per model version (written by altor_pipelines.ml.serve).
CREATE TABLE IF NOT EXISTS diagnosis.diagnoses (
    ticket_id        BIGINT    NOT NULL,
    model_version    VARCHAR   NOT NULL,
    cause            VARCHAR,            -- the delivered cause; NULL when the model abstained
    top_cause        VARCHAR   NOT NULL, -- the most probable cause, delivered or not
    top_probability  DOUBLE    NOT NULL, -- its calibrated probability
    probabilities    JSON      NOT NULL, -- {"known_bug": 0.91, ...}: every cause of the taxonomy
    confidence_band  VARCHAR   NOT NULL, -- high (delivered) | medium (abstained, p >= 0.5) | low
    escalate         BOOLEAN   NOT NULL, -- abstained, or the cause escalates (deploy_regression, novel)
    abstained        BOOLEAN   NOT NULL,
    action           VARCHAR   NOT NULL, -- escalate | reroute (misrouted) | reply
    threshold        DOUBLE,             -- the model's threshold for top_cause (NULL: the model
                                         -- does not deliver that cause; see decided_by)
    rules_fired      VARCHAR[],          -- from heuristics.rule_scores
    diagnosed_at     TIMESTAMP NOT NULL, -- UTC
    decided_by       VARCHAR,            -- model | rule | abstain (per-cause decisions)
    estimated_precision DOUBLE,          -- the delivered cause's estimated precision (out of
                                         -- fold, against truth through the recording-error rate)
    PRIMARY KEY (ticket_id, model_version)
)
