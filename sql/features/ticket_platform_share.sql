-- Many customers at once: of the other orgs with traffic in the hour before the investigation
-- time, how many had errors (4xx other than 429, plus 5xx) or p95 latency anomalous against
-- their own 7-day baseline, by the same test as ticket_traffic. Counted per ticket in
-- ClickHouse (sql/clickhouse/ticket_platform_share.sql, tested against the platform's
-- baseline rate from features.ticket_traffic).
SELECT
    i.ticket_id,
    coalesce(s.other_active_orgs_1h, 0) AS other_active_orgs_1h,
    coalesce(s.other_anomalous_orgs_1h, 0) AS other_anomalous_orgs_1h,
    s.other_anomalous_orgs_1h / nullif(s.other_active_orgs_1h, 0) AS other_anomalous_share_1h
FROM features.ticket_traffic AS i
LEFT JOIN logs.ticket_platform_share AS s USING (ticket_id)
