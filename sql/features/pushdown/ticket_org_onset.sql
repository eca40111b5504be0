-- Tickets for sql/clickhouse/ticket_org_onset.sql: those of this run whose customer's traffic is anomalous,
-- with the rates the change point tests (baseline p0 of errors = 4xx other than 429 plus 5xx,
-- current p1 = the higher of the 1h and 6h rates) and the baseline p95.
SELECT ticket_id, org_id, investigated_at,
    greatest(org_base_rate_4xx + org_base_rate_5xx, 1e-6) AS p0,
    greatest(coalesce(org_rate_4xx_1h + org_rate_5xx_1h, 0),
             coalesce(org_rate_4xx_6h + org_rate_5xx_6h, 0)) AS p1,
    org_p95_ms_base AS p95_base,
    date_trunc('minute', investigated_at - INTERVAL 24 HOUR) AS scan_from
FROM features.ticket_traffic
WHERE org_id IS NOT NULL AND org_anomalous_errors_or_latency
  AND ticket_id IN (SELECT ticket_id FROM intermediate.int_ticket_investigations)
ORDER BY investigated_at, ticket_id
