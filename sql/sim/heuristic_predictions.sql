-- The heuristic rules alone against a world's truth (altor_sim/evaluation/heuristics.py): the
-- true cause from $path (truth/tickets.csv) and the best rule's cause, for tickets in both,
-- created at or after $since (NULL: all). Grain: one row per ticket.
WITH truth AS (
    SELECT CAST(ticket_id AS BIGINT) AS ticket_id, root_cause,
           CAST(created_at AS TIMESTAMP) AS created_at
    FROM read_csv($path, header = true, all_varchar = true)
)
SELECT t.root_cause AS truth, r.best_rule_cause AS predicted
FROM truth AS t JOIN heuristics.rule_scores AS r USING (ticket_id)
WHERE CAST($since AS TIMESTAMP) IS NULL OR t.created_at >= CAST($since AS TIMESTAMP)
ORDER BY t.ticket_id
