-- The tickets the scheduled batch investigates (each at its creation time): every ticket not
-- deleted, except those whose investigation completed (heuristics.investigated_tickets) with
-- this version of the SQL ($investigation_version), at their creation time, and that were
-- created before $settled_before. Data older than that no longer changes (the ClickHouse sync
-- audits late rows that far back, sources/clickhouse_logs.py), so neither do those tickets'
-- features. `open_tickets` counts every ticket not deleted.
WITH open_tickets AS (
    SELECT ticket_id, created_at
    FROM staging.stg_zendesk__tickets
    WHERE NOT coalesce(is_deleted, false)
)
SELECT t.ticket_id, (SELECT count(*) FROM open_tickets) AS open_tickets
FROM open_tickets AS t
LEFT JOIN heuristics.investigated_tickets AS d USING (ticket_id)
WHERE d.ticket_id IS NULL
   OR d.investigation_version <> $investigation_version
   OR d.investigated_at <> t.created_at
   OR t.created_at >= $settled_before
ORDER BY t.ticket_id
