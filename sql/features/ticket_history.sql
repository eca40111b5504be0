-- The customer's recent tickets before the investigation time, and the causes recorded on
-- them by then (a cause counts only if the ticket was solved or closed by t and the root-cause
-- field was set by t: the help-desk history, not the current field value).
WITH inv AS (
    SELECT ticket_id, organization_id, investigated_at AS t
    FROM intermediate.int_ticket_investigations
),
prior AS (
    SELECT i.ticket_id, i.t, p.ticket_id AS prior_ticket_id, p.created_at
    FROM inv AS i
    JOIN staging.stg_zendesk__tickets AS p
        ON p.organization_id = i.organization_id
       AND p.created_at < i.t AND p.created_at >= i.t - INTERVAL 30 DAY
       AND p.ticket_id <> i.ticket_id
),
hist AS (
    SELECT p.ticket_id, p.prior_ticket_id, p.created_at,
        arg_max(h.value, h.updated_at) FILTER (WHERE h.field_name = 'root_cause') AS cause,
        max(h.updated_at) FILTER (WHERE h.field_name = 'root_cause') AS cause_at,
        max(h.updated_at) FILTER (WHERE h.field_name = 'status'
                                  AND h.value IN ('solved', 'closed')) AS resolved_at
    FROM prior AS p
    LEFT JOIN staging.stg_zendesk__ticket_field_history AS h
        ON h.ticket_id = p.prior_ticket_id AND h.updated_at <= p.t
       AND h.field_name IN ('root_cause', 'status')
    GROUP BY p.ticket_id, p.prior_ticket_id, p.created_at
),
known AS (
    SELECT *, CASE WHEN resolved_at IS NOT NULL AND cause IS NOT NULL AND cause <> ''
                   THEN cause END AS known_cause
    FROM hist
)
SELECT
    i.ticket_id,
    count(k.prior_ticket_id) FILTER (WHERE k.created_at >= i.t - INTERVAL 7 DAY)
        AS tickets_prior_7d,
    count(k.prior_ticket_id) AS tickets_prior_30d,
    count(k.prior_ticket_id) FILTER (WHERE k.resolved_at IS NOT NULL) AS resolved_prior_30d,
    arg_max(k.known_cause, {'at': k.cause_at, 'cause': k.known_cause}) FILTER (WHERE k.known_cause IS NOT NULL)
        AS last_prior_cause,
    date_diff('minute', max(k.created_at) FILTER (WHERE k.known_cause IS NOT NULL), i.t) / 1440.0
        AS days_since_last_prior_cause_ticket,
    coalesce(list_sort(list(k.known_cause) FILTER (WHERE k.known_cause IS NOT NULL)), [])
        AS prior_causes_30d
FROM inv AS i
LEFT JOIN known AS k USING (ticket_id)
GROUP BY i.ticket_id, i.t
