-- What the ticket's own words point at, recognised only against the data's vocabulary:
-- error codes and services that appear in the request logs (seen before the investigation
-- time), endpoint paths (a `/...` path equal to a logged endpoint, or under a templated one
-- such as `/v1/items/{id}`), and HTTP error statuses (a 4xx/5xx number). Plus length.
WITH inv AS (
    SELECT ticket_id, investigated_at AS t, subject || ' ' || description AS body
    FROM intermediate.int_ticket_investigations
),
tok AS (
    SELECT ticket_id, t, unnest(list_distinct(regexp_extract_all(lower(body), '[a-z0-9_]+')))
        AS token
    FROM inv
),
paths AS (
    SELECT ticket_id, t,
        unnest(list_distinct(regexp_extract_all(body, '/[A-Za-z0-9_\-./{}]*[A-Za-z0-9_}]')))
            AS path
    FROM inv
),
vocab AS (SELECT * FROM logs.log_vocabulary),  -- sql/clickhouse/log_vocabulary.sql
codes AS (
    SELECT k.ticket_id, list_sort(list_distinct(list(v.term))) AS codes
    FROM tok AS k JOIN vocab AS v
        ON v.kind = 'error_code' AND v.term = k.token AND v.first_seen_at <= k.t
    GROUP BY k.ticket_id
),
services AS (
    SELECT k.ticket_id, list_sort(list_distinct(list(v.term))) AS services
    FROM tok AS k JOIN vocab AS v
        ON v.kind = 'service' AND lower(v.term) = k.token AND v.first_seen_at <= k.t
    GROUP BY k.ticket_id
),
endpoints AS (
    SELECT p.ticket_id, list_sort(list_distinct(list(v.term))) AS endpoints
    FROM paths AS p JOIN vocab AS v
        ON v.kind = 'endpoint' AND v.first_seen_at <= p.t
       AND (p.path = v.term
            OR (contains(v.term, '{') AND starts_with(p.path, split_part(v.term, '{', 1))
                AND length(p.path) > length(split_part(v.term, '{', 1))))
    GROUP BY p.ticket_id
)
SELECT
    i.ticket_id,
    coalesce(c.codes, []) AS text_error_codes,
    coalesce(e.endpoints, []) AS text_endpoints,
    coalesce(s.services, []) AS text_services,
    list_sort(list_distinct(regexp_extract_all(i.body, '\b[45][0-9][0-9]\b'))) AS text_http_statuses,
    length(i.body) AS text_chars,
    length(regexp_extract_all(i.body, '\S+')) AS text_words,
    contains(i.body, '?') AS text_has_question,
    length(coalesce(c.codes, [])) + length(coalesce(e.endpoints, [])) AS text_data_terms
FROM inv AS i
LEFT JOIN codes AS c USING (ticket_id)
LEFT JOIN endpoints AS e USING (ticket_id)
LEFT JOIN services AS s USING (ticket_id)
