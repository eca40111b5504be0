-- The newest model version's delivered diagnoses whose tickets now carry a root cause recorded
-- by an agent (one of the taxonomy's causes, $causes): how many, and how many name the same
-- cause. The records are the help desk's free, noisy feedback after go-live.
-- Parameters: $version, $causes.
SELECT
    count(*) AS with_recorded_cause,
    count(*) FILTER (WHERE d.cause = t.recorded_root_cause) AS agreeing
FROM diagnosis.diagnoses AS d
JOIN staging.stg_zendesk__tickets AS t ON t.ticket_id = d.ticket_id
WHERE d.model_version = $version
  AND NOT d.abstained
  AND list_contains($causes, t.recorded_root_cause)
