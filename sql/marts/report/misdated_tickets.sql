-- Tickets whose period disagrees with $go_live: the marts were built with another go-live
-- and the report rebuilds them.
SELECT count(*) FROM marts.mart_ticket_outcomes
WHERE (period = 'before') <> (created_at < CAST($go_live AS TIMESTAMP))
