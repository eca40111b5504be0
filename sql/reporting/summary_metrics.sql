-- The headline figures a command prints after a run: each before/after metric of
-- marts.mart_before_after with its counts and 95% intervals (definitions: docs/metrics.md).
SELECT metric, statistic, before_n, before_value, before_ci_low, before_ci_high,
       after_n, after_value, after_ci_low, after_ci_high, is_change_significant
FROM marts.mart_before_after
WHERE metric IN ('escalation_rate', 'first_contact_resolution_rate', 'investigation_minutes')
ORDER BY sort_order
