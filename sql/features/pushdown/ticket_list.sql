-- The tickets whose log inputs are computed in ClickHouse (investigation/pushdown.py): id, org
-- key of the request logs (NULL when the account has none) and investigation time, in time
-- order so that a batch of consecutive tickets scans a narrow range of the logs.
SELECT ticket_id, org_id, investigated_at
FROM intermediate.int_ticket_investigations
ORDER BY investigated_at, ticket_id
