-- Linear issues matching the ticket's symptoms, as of the investigation time t: the issue
-- existed by t and was open then (not completed or canceled by t) or completed in the 14 days
-- before t ("recently fixed"). Symptoms: error codes and endpoints of the customer's errors in
-- the 24h before t (ticket_endpoint_excess) and those the ticket's text names (ticket_text).
-- The decisive symptom is a *key match*: the issue names both the error code and the endpoint of
-- an error key the customer hit in the last 3h (what they are hitting now; not measured against
-- their baseline, which a bug open for days is already part of). Codes or endpoints alone match
-- many open bugs: a busy customer sees every known bug's background errors. key_share_3h: the
-- matched keys' share of the customer's errors in those 3h.
-- Score in [0, 1]: 0.5 for a key match, 0.15 if an error code is shared, 0.15 if an endpoint is
-- shared, 0.2 x min(1, 2 x token Jaccard of ticket text and issue title+description); halved
-- when the issue was already fixed at t. Top 3 per ticket with score >= 0.1, ranked.
WITH inv AS (
    SELECT i.ticket_id, i.investigated_at AS t, o.onset_at,
        list_distinct(regexp_extract_all(lower(i.subject || ' ' || i.description), '[a-z0-9_]+'))
            AS tokens,
        x.text_error_codes, x.text_endpoints
    FROM intermediate.int_ticket_investigations AS i
    JOIN features.ticket_text AS x USING (ticket_id)
    LEFT JOIN features.ticket_onset AS o USING (ticket_id)
),
sym AS (
    SELECT ticket_id,
        list_distinct(list(error_code) FILTER (WHERE error_code IS NOT NULL AND error_code <> ''))
            AS org_codes,
        list_distinct(list(endpoint)) AS org_endpoints,
        list({'endpoint': endpoint, 'code': error_code, 'errors_3h': errors_3h,
              'excess_3h': greatest(excess_3h, 0)})
            FILTER (WHERE errors_3h > 0 AND error_code IS NOT NULL AND error_code <> '')
            AS recent_keys,
        sum(errors_3h) AS total_errors_3h
    FROM features.ticket_endpoint_excess
    GROUP BY ticket_id
),
ti AS (
    SELECT i.*,
        list_filter(i.tokens, lambda x: length(x) >= 3) AS words,
        coalesce(s.org_codes, []) AS org_codes,
        coalesce(s.recent_keys, []) AS recent_keys,
        s.total_errors_3h,
        list_distinct(list_concat(coalesce(s.org_codes, []), i.text_error_codes)) AS codes,
        list_distinct(list_concat(coalesce(s.org_endpoints, []), i.text_endpoints)) AS endpoints
    FROM inv AS i LEFT JOIN sym AS s USING (ticket_id)
),
seen_codes AS (
    -- every error code of this run's tickets: an issue's tokens are intersected with these once,
    -- not per pair (intersecting each pair with all the issue's tokens was half this model's
    -- time on large help desks)
    SELECT coalesce(list_distinct(flatten(list(codes))), []) AS codes FROM ti
),
iss AS (
    SELECT issue_id, identifier, title, url, state_type, created_at, completed_at, canceled_at,
        list_distinct(regexp_extract_all(lower(title || ' ' || coalesce(description, '')),
            '[a-z0-9_]+')) AS tokens,
        list_intersect(tokens, (SELECT codes FROM seen_codes)) AS code_tokens,
        list_filter(tokens, lambda x: length(x) >= 3) AS words,
        list_distinct(regexp_extract_all(title || ' ' || coalesce(description, ''),
            '/[A-Za-z0-9_\-./{}]*[A-Za-z0-9_}]')) AS paths
    FROM staging.stg_linear__issues
),
pairs AS (
    SELECT t.ticket_id, t.total_errors_3h, s.issue_id, s.identifier, s.title, s.url, s.created_at,
        CASE WHEN s.completed_at <= t.t THEN s.completed_at END AS completed_at,
        s.completed_at IS NULL OR s.completed_at > t.t AS is_open_at_t,
        s.created_at <= t.onset_at AS created_before_onset,
        list_intersect(s.code_tokens, t.codes) AS shared_error_codes,
        list_intersect(s.code_tokens, t.org_codes) AS shared_org_error_codes,
        -- most issues name no path (chores, improvements): their pairs skip the path matching
        CASE WHEN length(s.paths) > 0 THEN
        list_filter(t.endpoints, lambda e: length(list_filter(s.paths, lambda p:
            p = e OR (contains(e, '{') AND starts_with(p, split_part(e, '{', 1))
                      AND length(p) > length(split_part(e, '{', 1))))) > 0)
        ELSE [] END AS shared_endpoints,
        CASE WHEN length(s.paths) > 0 AND length(s.code_tokens) > 0 THEN
        list_filter(t.recent_keys, lambda k: list_contains(s.code_tokens, k.code)
            AND length(list_filter(s.paths, lambda p: p = k.endpoint
                OR (contains(k.endpoint, '{') AND starts_with(p, split_part(k.endpoint, '{', 1))
                    AND length(p) > length(split_part(k.endpoint, '{', 1))))) > 0)
        ELSE [] END AS matched_keys,
        -- both word lists are distinct, so |union| = |a| + |b| - |intersection| (the per-pair
        -- union list was most of this model's time on large help desks)
        length(list_intersect(t.words, s.words)) AS n_shared_words,
        length(t.words) + length(s.words) AS n_words
    FROM ti AS t
    JOIN iss AS s
        ON s.created_at <= t.t
       AND (s.canceled_at IS NULL OR s.canceled_at > t.t)
       AND (s.completed_at IS NULL OR s.completed_at > t.t - INTERVAL 14 DAY)
),
pairs_text AS (
    SELECT * EXCLUDE (n_shared_words, n_words),
        n_shared_words / nullif(n_words - n_shared_words, 0) AS text_jaccard
    FROM pairs
),
scored AS (
    SELECT * EXCLUDE (total_errors_3h),
        coalesce(list_sum(list_transform(matched_keys, lambda k: k.errors_3h)), 0)
            AS key_errors_3h,
        coalesce(list_sum(list_transform(matched_keys, lambda k: k.excess_3h)), 0)
            AS key_excess_3h,
        coalesce(list_sum(list_transform(matched_keys, lambda k: k.errors_3h))
            / nullif(total_errors_3h, 0), 0) AS key_share_3h,
        round((0.5 * (length(matched_keys) > 0)::INT
            + 0.15 * (length(shared_error_codes) > 0)::INT
            + 0.15 * (length(shared_endpoints) > 0)::INT
            + 0.2 * least(1.0, 2 * coalesce(text_jaccard, 0)))
          * CASE WHEN is_open_at_t THEN 1.0 ELSE 0.5 END, 6) AS match_score
    FROM pairs_text
)
SELECT * FROM (
    SELECT *,
        row_number() OVER (PARTITION BY ticket_id
            -- among issues whose keys the customer is hitting, the one that explains most of
            -- its recent errors first: scores differ there by a few points of text overlap
            ORDER BY (length(matched_keys) > 0) DESC,
                     CASE WHEN length(matched_keys) > 0 THEN key_share_3h END DESC NULLS LAST,
                     match_score DESC, key_errors_3h DESC, created_at DESC, identifier)
            AS match_rank
    FROM scored
    WHERE match_score >= 0.1
)
WHERE match_rank <= 3
