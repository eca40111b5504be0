-- The before/after tiles and table, in the report's order.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT metric, statistic, before_n, before_count, before_value, before_ci_low, before_ci_high,
       after_n, after_count, after_value, after_ci_low, after_ci_high,
       change, change_ci_low, change_ci_high, is_change_significant
FROM marts.mart_before_after
ORDER BY sort_order
