-- One row per ticket whose investigation completed: when it was created and investigated, and
-- by which version of the investigation's SQL ($investigation_version). The next batch reads it
-- to investigate only new and unsettled tickets (investigation/incremental.py). It reads the
-- investigation's last tables, so it is built after them: a run that stops midway records none
-- of its tickets, and they are investigated again.
SELECT
    i.ticket_id,
    i.created_at,
    i.investigated_at,
    CAST($investigation_version AS VARCHAR) AS investigation_version,
    s.best_rule_cause,
    coalesce(e.evidence_rows, 0) AS evidence_rows
FROM intermediate.int_ticket_investigations AS i
JOIN features.fct_ticket_features AS f USING (ticket_id)
JOIN heuristics.rule_scores AS s USING (ticket_id)
LEFT JOIN (
    SELECT ticket_id, count(*) AS evidence_rows FROM heuristics.evidence GROUP BY ticket_id
) AS e USING (ticket_id)
