-- Each headline metric before vs after go-live, with counts and 95% confidence intervals.
-- Rates: Wilson score interval per period; the change (after - before) with Newcombe's hybrid
-- score interval (method 10), significant when it excludes 0.
-- Medians: distribution-free interval from order statistics (ranks of the binomial(n, 1/2)
-- normal approximation: floor((n - 1.96 sqrt n)/2) and ceil(1 + (n + 1.96 sqrt n)/2), clamped to
-- 1..n); no interval for the change: significant when the two intervals do not overlap
-- (conservative). No change is called with fewer than 10 tickets in either period. In-scope
-- tickets only (not deleted, not merged).
WITH t AS (
    SELECT * FROM marts.mart_ticket_outcomes WHERE is_in_scope
),
rate_obs AS (
    SELECT 1 AS sort_order, 'escalation_rate' AS metric, period, is_escalated AS hit FROM t
    UNION ALL
    SELECT 2, 'system_access_escalation_rate', period,
           coalesce(escalation_cause = 'system_access', false) FROM t
    UNION ALL
    SELECT 3, 'first_contact_resolution_rate', period, is_first_contact_resolution
    FROM t WHERE is_solved
    UNION ALL
    SELECT 4, 'one_touch_rate', period, is_one_touch_resolution FROM t WHERE is_solved
    UNION ALL
    SELECT 5, 'two_touch_rate', period, is_two_touch_resolution FROM t WHERE is_solved
    UNION ALL
    SELECT 6, 'reopen_rate', period, is_reopened FROM t WHERE is_solved
),
rate_periods AS (
    SELECT
        sort_order, metric, period,
        count(*) AS n,
        count(*) FILTER (WHERE hit) AS x
    FROM rate_obs
    GROUP BY ALL
),
wilson AS (
    SELECT
        *,
        x / n AS value,
        (x / n + 1.959964 ^ 2 / (2 * n)) / (1 + 1.959964 ^ 2 / n)
            - 1.959964 * sqrt((x / n) * (1 - x / n) / n + 1.959964 ^ 2 / (4 * n * n))
              / (1 + 1.959964 ^ 2 / n) AS ci_low,
        (x / n + 1.959964 ^ 2 / (2 * n)) / (1 + 1.959964 ^ 2 / n)
            + 1.959964 * sqrt((x / n) * (1 - x / n) / n + 1.959964 ^ 2 / (4 * n * n))
              / (1 + 1.959964 ^ 2 / n) AS ci_high
    FROM rate_periods
),
time_obs AS (
    -- One row per ticket and time metric, NULLs kept (a metric is listed even without values);
    -- sort_order 11, 12, ... in the order of the list.
    SELECT 10 + list_position([
            'investigation_minutes', 'first_reply_time_calendar_minutes',
            'first_reply_time_business_minutes', 'first_resolution_calendar_minutes',
            'first_resolution_business_minutes', 'full_resolution_calendar_minutes',
            'full_resolution_business_minutes'], metric) AS sort_order,
        metric, period, v
    FROM t UNPIVOT INCLUDE NULLS (v FOR metric IN (
        investigation_minutes, first_reply_time_calendar_minutes,
        first_reply_time_business_minutes, first_resolution_calendar_minutes,
        first_resolution_business_minutes, full_resolution_calendar_minutes,
        full_resolution_business_minutes))
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY metric, period ORDER BY v) AS r,
        count(*) OVER (PARTITION BY metric, period) AS n
    FROM time_obs
    WHERE v IS NOT NULL
),
medians AS (
    SELECT
        sort_order, metric, period,
        any_value(n) AS n,
        CAST(NULL AS BIGINT) AS x,
        median(v) AS value,
        min(v) FILTER (WHERE r = greatest(1, least(n,
            CAST(floor((n - 1.959964 * sqrt(n)) / 2) AS BIGINT)))) AS ci_low,
        min(v) FILTER (WHERE r = greatest(1, least(n,
            CAST(ceil(1 + (n + 1.959964 * sqrt(n)) / 2) AS BIGINT)))) AS ci_high
    FROM ranked
    GROUP BY ALL
),
metrics AS (
    SELECT sort_order, metric, 'rate' AS statistic FROM rate_obs
    UNION
    SELECT sort_order, metric, 'median' FROM time_obs
),
per_period AS (
    SELECT sort_order, metric, period, n, x, value, ci_low, ci_high FROM wilson
    UNION ALL
    SELECT sort_order, metric, period, n, x, value, ci_low, ci_high FROM medians
),
wide AS (
    SELECT
        m.sort_order,
        m.metric,
        m.statistic,
        coalesce(b.n, 0) AS before_n,
        b.x AS before_count,
        b.value AS before_value,
        b.ci_low AS before_ci_low,
        b.ci_high AS before_ci_high,
        coalesce(a.n, 0) AS after_n,
        a.x AS after_count,
        a.value AS after_value,
        a.ci_low AS after_ci_low,
        a.ci_high AS after_ci_high
    FROM metrics AS m
    LEFT JOIN per_period AS b ON b.metric = m.metric AND b.period = 'before'
    LEFT JOIN per_period AS a ON a.metric = m.metric AND a.period = 'after'
)
SELECT
    sort_order,
    metric,
    statistic,
    CASE WHEN statistic = 'rate' THEN 'share' ELSE 'minutes' END AS unit,
    before_n, before_count, before_value, before_ci_low, before_ci_high,
    after_n, after_count, after_value, after_ci_low, after_ci_high,
    after_value - before_value AS change,
    CASE WHEN statistic = 'rate' THEN
        (after_value - before_value)
        - sqrt((after_value - after_ci_low) ^ 2 + (before_ci_high - before_value) ^ 2)
    END AS change_ci_low,
    CASE WHEN statistic = 'rate' THEN
        (after_value - before_value)
        + sqrt((after_ci_high - after_value) ^ 2 + (before_value - before_ci_low) ^ 2)
    END AS change_ci_high,
    CASE
        WHEN before_value IS NULL OR after_value IS NULL THEN NULL
        -- the normal approximations behind both intervals are not to be trusted on a handful
        -- of tickets (2 of 2 first-contact resolutions read as "a real change"): no call
        WHEN before_n < 10 OR after_n < 10 THEN false
        WHEN statistic = 'rate' THEN
            (after_value - before_value)
                - sqrt((after_value - after_ci_low) ^ 2 + (before_ci_high - before_value) ^ 2) > 0
            OR (after_value - before_value)
                + sqrt((after_ci_high - after_value) ^ 2 + (before_value - before_ci_low) ^ 2) < 0
        ELSE after_ci_high < before_ci_low OR after_ci_low > before_ci_high
    END AS is_change_significant,
    CASE WHEN statistic = 'rate' THEN 'wilson; change: newcombe hybrid score'
         ELSE 'median: order-statistic (binomial) interval' END AS ci_method
FROM wide
ORDER BY sort_order
