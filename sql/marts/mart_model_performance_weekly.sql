-- The automated diagnoses week by week (Monday weeks of the first diagnosis, UTC), against the
-- cause agents recorded at resolution (free, noisy feedback labels).
-- grain 'week': all diagnosed tickets; grain 'week_cause': per cause, where a ticket counts for
-- its diagnosed cause (delivered_*, precision-like) and for its recorded cause (recorded_*,
-- recall-like). Empty while there are no diagnoses. In-scope tickets only.
WITH d AS (
    SELECT
        CAST(date_trunc('week', first_diagnosed_at) AS DATE) AS week_start,
        *
    FROM marts.mart_ticket_outcomes
    WHERE is_in_scope AND first_diagnosed_at IS NOT NULL
),
weekly AS (
    SELECT
        'week' AS grain,
        week_start,
        CAST(NULL AS VARCHAR) AS cause,
        count(*) AS diagnosed_tickets,
        count(*) FILTER (WHERE is_diagnosis_delivered) AS delivered,
        count(*) FILTER (WHERE is_diagnosis_abstained) AS abstained,
        count(*) FILTER (WHERE is_diagnosis_delivered AND recorded_root_cause IS NOT NULL)
            AS delivered_with_recorded_cause,
        count(*) FILTER (WHERE diagnosis_agrees_with_recorded) AS agreed,
        CAST(NULL AS BIGINT) AS recorded_tickets,
        median(diagnosis_minutes) AS median_diagnosis_minutes
    FROM d
    GROUP BY week_start
),
roles AS (
    SELECT week_start, diagnosed_root_cause AS cause, 'diagnosed' AS role, * EXCLUDE (week_start)
    FROM d WHERE is_diagnosis_delivered
    UNION ALL
    SELECT week_start, recorded_root_cause, 'recorded', * EXCLUDE (week_start)
    FROM d WHERE recorded_root_cause IS NOT NULL
),
per_cause AS (
    SELECT
        'week_cause' AS grain,
        week_start,
        cause,
        count(*) FILTER (WHERE role = 'diagnosed') AS diagnosed_tickets,
        count(*) FILTER (WHERE role = 'diagnosed') AS delivered,
        0 AS abstained,
        count(*) FILTER (WHERE role = 'diagnosed' AND recorded_root_cause IS NOT NULL)
            AS delivered_with_recorded_cause,
        count(*) FILTER (WHERE role = 'diagnosed' AND diagnosis_agrees_with_recorded) AS agreed,
        count(*) FILTER (WHERE role = 'recorded') AS recorded_tickets,
        median(diagnosis_minutes) FILTER (WHERE role = 'diagnosed') AS median_diagnosis_minutes
    FROM roles
    GROUP BY week_start, cause
),
unioned AS (
    SELECT * FROM weekly
    UNION ALL
    SELECT * FROM per_cause
)
SELECT
    grain,
    week_start,
    cause,
    diagnosed_tickets,
    delivered,
    abstained,
    delivered / nullif(diagnosed_tickets, 0) AS delivered_share,
    delivered_with_recorded_cause,
    agreed,
    agreed / nullif(delivered_with_recorded_cause, 0) AS agreement_rate,
    recorded_tickets,
    -- per cause: of tickets recorded with this cause and diagnosed, the share delivered with it
    CASE WHEN grain = 'week_cause' THEN agreed / nullif(recorded_tickets, 0) END
        AS recorded_cause_recall,
    median_diagnosis_minutes
FROM unioned
ORDER BY week_start, grain, cause
