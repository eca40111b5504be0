-- When the customer's anomaly started: the change point of its error rate (4xx other than 429,
-- plus 5xx) in the 24h before the investigation time, from the baseline rate p0 to the current
-- rate p1 (the higher of the last 1h and 6h rates). Each minute m with traffic scores the
-- Poisson log-likelihood ratio of p1 against p0, llr_m = errors_m x ln(p1/p0) - requests_m x
-- (p1 - p0); the onset is the minute that maximises llr summed from m to the end of the window
-- (the CUSUM change point of p0 -> p1). Minutes at the baseline or at a lower, older elevation
-- score negative, so the onset is where the *current* level began, not the first error of the
-- day (the plain excess sum put it hours early for a third of the deploy regressions).
-- Latency onset: same with +1 for a minute whose p95 is >= 1.5x the baseline p95, -1
-- otherwise. Only set when the org is anomalous. Baseline p0, current p1 and the baseline p95
-- come from features.ticket_traffic (sql/features/pushdown/ticket_org_onset.sql).
WITH inv AS (
    SELECT f.ticket_id,
        f.org_anomalous_4xx OR f.org_anomalous_5xx AS err_anomalous,
        f.org_anomalous_latency AS lat_anomalous
    FROM features.ticket_traffic AS f
    WHERE f.org_id IS NOT NULL AND f.org_anomalous_errors_or_latency
),
onsets AS (
    -- the change points, computed per ticket in ClickHouse (sql/clickhouse/ticket_org_onset.sql,
    -- over the customer's minutes in the 24h before t; no row: no traffic in those 24h)
    SELECT i.ticket_id, i.err_anomalous, i.lat_anomalous, o.err_onset_at, o.err_onset_excess,
        o.lat_onset_at, o.lat_onset_score
    FROM inv AS i
    JOIN logs.ticket_org_onset AS o USING (ticket_id)
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
