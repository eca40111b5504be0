-- Check of features.fct_ticket_features (defs/checks_diagnosis.py): help-desk tickets (not deleted)
-- without a row of features. Grain: one row per ticket.
SELECT t.ticket_id
FROM staging.stg_zendesk__tickets AS t
WHERE NOT coalesce(t.is_deleted, false) AND t.ticket_id NOT IN (
    SELECT ticket_id FROM features.fct_ticket_features WHERE ticket_id IS NOT NULL)
ORDER BY t.ticket_id
