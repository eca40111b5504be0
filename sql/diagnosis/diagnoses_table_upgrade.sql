-- Columns added with per-cause decisions (ml/decision.py), for a diagnosis.diagnoses created
-- before them; rows written before keep NULL.
ALTER TABLE diagnosis.diagnoses ADD COLUMN IF NOT EXISTS decided_by VARCHAR;
ALTER TABLE diagnosis.diagnoses ADD COLUMN IF NOT EXISTS estimated_precision DOUBLE;
