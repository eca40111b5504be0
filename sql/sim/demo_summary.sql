-- What `altor demo run` prints after the batch pipeline: a few figures a newcomer can check.
SELECT
    (SELECT count(*) FROM staging.stg_zendesk__tickets) AS "tickets",
    (SELECT count(*) FILTER (WHERE match_status = 'matched') || ' of ' || count(*)
     FROM intermediate.int_account_spine) AS "accounts matched (help desk, Stripe, logs)",
    (SELECT count(*) FROM staging.stg_clickhouse__request_minutes) AS "request-minute aggregates",
    (SELECT count(*) FROM features.fct_ticket_features) AS "tickets with features",
    (SELECT count(*) FROM heuristics.evidence) AS "evidence rows",
    (SELECT count(cause) || ' / ' || count(*) FILTER (WHERE abstained)
     FROM diagnosis.diagnoses) AS "diagnoses delivered / abstained",
    (SELECT round(100 * avg(is_escalated::INT), 1) || '%' FROM marts.mart_ticket_outcomes
     WHERE period = 'before' AND is_in_scope) AS "escalation rate before go-live",
    (SELECT count(*) FROM marts.mart_ticket_outcomes WHERE period = 'after')
        AS "tickets after go-live (live period)"
