-- The newest model version's delivered diagnoses of tickets created after every ticket it was
-- trained, validated or tested on ($since), whose tickets now carry a root cause recorded by an
-- agent on solving them (one of the taxonomy's causes, $causes; the same rule as the training
-- labels, sql/diagnosis/labels.sql): per delivered cause, how many, and how many name the same
-- cause. The records are the help desk's free, noisy feedback after training.
-- Parameters: $version, $since, $causes.
SELECT
    d.cause,
    count(*) AS with_recorded_cause,
    count(*) FILTER (WHERE d.cause = t.recorded_root_cause) AS agreeing
FROM diagnosis.diagnoses AS d
JOIN staging.stg_zendesk__tickets AS t ON t.ticket_id = d.ticket_id
WHERE d.model_version = $version
  AND NOT d.abstained
  AND t.created_at > $since
  AND t.status IN ('solved', 'closed')
  AND NOT coalesce(t.is_deleted, FALSE)
  AND list_contains($causes, t.recorded_root_cause)
GROUP BY d.cause
ORDER BY d.cause
