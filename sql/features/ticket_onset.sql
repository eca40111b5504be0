-- When the customer's anomaly started: the change point of its error rate (4xx other than 429,
-- plus 5xx) in the 24h before the investigation time, from the baseline rate p0 to the current
-- rate p1 (the higher of the last 1h and 6h rates). Each minute m with traffic scores the
-- Poisson log-likelihood ratio of p1 against p0, llr_m = errors_m x ln(p1/p0) - requests_m x
-- (p1 - p0); the onset is the minute that maximises llr summed from m to the end of the window
-- (the CUSUM change point of p0 -> p1). Minutes at the baseline or at a lower, older elevation
-- score negative, so the onset is where the *current* level began, not the first error of the
-- day (the plain excess sum put it hours early for a third of the deploy regressions).
-- Latency onset: same with +1 for a minute whose p95 is >= 1.5x the baseline p95, -1
-- otherwise. Only set when the org is anomalous.
WITH inv AS (
    SELECT f.ticket_id, f.org_id, f.investigated_at AS t,
        greatest(f.org_base_rate_4xx + f.org_base_rate_5xx, 1e-6) AS p0,
        greatest(coalesce(f.org_rate_4xx_1h + f.org_rate_5xx_1h, 0),
                 coalesce(f.org_rate_4xx_6h + f.org_rate_5xx_6h, 0)) AS p1,
        f.org_p95_ms_base AS p95_base,
        f.org_anomalous_4xx OR f.org_anomalous_5xx AS err_anomalous,
        f.org_anomalous_latency AS lat_anomalous
    FROM features.ticket_traffic AS f
    WHERE f.org_id IS NOT NULL AND f.org_anomalous_errors_or_latency
),
inv_hours AS (
    SELECT *, unnest(generate_series(
        date_trunc('hour', t - INTERVAL 24 HOUR), date_trunc('hour', t), INTERVAL 1 HOUR)) AS hour
    FROM inv
),
mins AS (
    SELECT h.ticket_id, h.err_anomalous, h.lat_anomalous, m.minute,
        (m.n_4xx + m.n_5xx) - m.requests * h.p0 AS err_excess,
        CASE WHEN h.p1 > h.p0 THEN (m.n_4xx + m.n_5xx) * ln(h.p1 / h.p0)
            - m.requests * (h.p1 - h.p0) END AS err_llr,
        CASE WHEN m.p95_wsum / nullif(m.requests, 0) >= 1.5 * h.p95_base THEN 1 ELSE -1 END
            AS lat_step
    FROM inv_hours AS h
    JOIN intermediate.int_ticket_org_minutes AS m ON m.org_id = h.org_id AND m.hour = h.hour
    WHERE m.minute >= date_trunc('minute', h.t - INTERVAL 24 HOUR) AND m.minute < date_trunc('minute', h.t)
),
suffix AS (
    SELECT *,
        sum(err_excess) OVER (PARTITION BY ticket_id ORDER BY minute DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS err_suffix,
        sum(err_llr) OVER (PARTITION BY ticket_id ORDER BY minute DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS err_llr_suffix,
        sum(lat_step) OVER (PARTITION BY ticket_id ORDER BY minute DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS lat_suffix
    FROM mins
),
onsets AS (
    SELECT ticket_id,
        any_value(err_anomalous) AS err_anomalous,
        any_value(lat_anomalous) AS lat_anomalous,
        arg_max(minute, (err_llr_suffix, -epoch(minute))) AS err_onset_at,
        arg_max(err_suffix, (err_llr_suffix, -epoch(minute))) AS err_onset_excess,
        arg_max(minute, (lat_suffix, -epoch(minute))) AS lat_onset_at,
        max(lat_suffix) AS lat_onset_score
    FROM suffix
    GROUP BY ticket_id
)
SELECT
    ticket_id,
    CASE WHEN err_anomalous AND err_onset_excess > 0 THEN err_onset_at END AS error_onset_at,
    CASE WHEN err_anomalous AND err_onset_excess > 0 THEN err_onset_excess END AS error_onset_excess,
    CASE WHEN lat_anomalous AND lat_onset_score > 0 THEN lat_onset_at END AS latency_onset_at,
    coalesce(
        CASE WHEN err_anomalous AND err_onset_excess > 0 THEN err_onset_at END,
        CASE WHEN lat_anomalous AND lat_onset_score > 0 THEN lat_onset_at END) AS onset_at
FROM onsets
