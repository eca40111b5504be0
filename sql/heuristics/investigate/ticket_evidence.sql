-- `altor investigate`: the evidence of every rule for one ticket ($ticket_id), the strongest
-- rule first.
SELECT cause, source, object_id, summary, link, reproducing_query, query_parameters
FROM heuristics.evidence
WHERE ticket_id = $ticket_id
ORDER BY rule_score DESC, source
