-- One diagnosis row from the rules stand-in (model_version `rules`, threshold 0.8), in the
-- column order of diagnosis.diagnoses (sql/diagnosis/diagnoses_table.sql).
INSERT OR REPLACE INTO diagnosis.diagnoses VALUES (
    $ticket_id, 'rules', $cause, $top_cause, $top_probability, CAST($probabilities AS JSON),
    $confidence_band, $escalate, $abstained, $action, 0.8, $rules_fired, $diagnosed_at
)
