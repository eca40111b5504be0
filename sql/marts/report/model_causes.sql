-- The classifier per cause: agreement with the agents' recorded cause.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT cause,
       sum(agreed) / nullif(sum(delivered_with_recorded_cause), 0),
       CAST(sum(delivered_with_recorded_cause) AS BIGINT)
FROM marts.mart_model_performance_weekly
WHERE grain = 'week_cause' AND delivered > 0
GROUP BY cause
ORDER BY cause
