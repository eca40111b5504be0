-- The rules stand-in for the classifier (altor_sim/live.py): each ticket of $ids with its
-- best heuristic rule's cause and score. Grain: one row per ticket.
SELECT ticket_id, best_rule_cause AS cause, best_rule_score AS p, rules_fired
FROM heuristics.rule_scores WHERE list_contains(CAST($ids AS BIGINT[]), ticket_id)
