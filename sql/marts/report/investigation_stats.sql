-- Investigation time per period: median, p90, tickets measured, and the interval of the median
-- from the before/after mart. Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT i.period, i.median_minutes, i.p90_minutes, i.tickets_measured,
       CASE i.period WHEN 'before' THEN b.before_ci_low ELSE b.after_ci_low END,
       CASE i.period WHEN 'before' THEN b.before_ci_high ELSE b.after_ci_high END
FROM marts.mart_investigation_time AS i
LEFT JOIN marts.mart_before_after AS b
    ON b.metric = 'investigation_minutes'
WHERE i.ticket_group = 'all'
ORDER BY i.period DESC
