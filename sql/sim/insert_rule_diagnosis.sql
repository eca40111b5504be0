-- One diagnosis row from the rules stand-in (model_version `rules`, threshold 0.8); columns
-- named, so the per-cause decision columns of diagnosis.diagnoses stay NULL for it.
INSERT OR REPLACE INTO diagnosis.diagnoses (
    ticket_id, model_version, cause, top_cause, top_probability, probabilities,
    confidence_band, escalate, abstained, action, threshold, rules_fired, diagnosed_at
) VALUES (
    $ticket_id, 'rules', $cause, $top_cause, $top_probability, CAST($probabilities AS JSON),
    $confidence_band, $escalate, $abstained, $action, 0.8, $rules_fired, $diagnosed_at
)
