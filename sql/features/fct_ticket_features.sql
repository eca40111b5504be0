-- One row per investigated ticket: every feature, as of investigated_at (point-in-time).
-- This is the table the classifier reads. Lists (text_*, prior_causes_30d, failing_*) are
-- kept as VARCHAR[]; the best Linear match and the top error key are flattened.
WITH top_key AS (
    SELECT ticket_id,
        service AS top_error_service, endpoint AS top_error_endpoint,
        error_code AS top_error_code, status_class AS top_error_status_class,
        status AS top_error_status, errors_24h AS top_errors_24h,
        error_rate_24h AS top_error_rate_24h, base_rate AS top_error_base_rate,
        excess AS top_error_excess
    FROM features.ticket_endpoint_excess WHERE excess_rank = 1
),
top_key_3h AS (
    -- the error key most above its baseline in the last 3h: what the customer writes about
    SELECT ticket_id,
        arg_max(status_class, [excess_3h, -excess_rank]) AS top_error_status_class_3h,
        max(excess_3h) AS top_error_excess_3h,
        arg_max(errors_3h, [excess_3h, -excess_rank]) AS top_errors_3h,
        arg_max(errors_base = 0, [excess_3h, -excess_rank]) AS top_error_new_3h
    FROM features.ticket_endpoint_excess WHERE excess_3h > 0 GROUP BY ticket_id
),
keys AS (
    SELECT ticket_id,
        count(*) FILTER (WHERE excess_3h > 0) AS failing_keys_3h,
        sum(greatest(excess_3h, 0)) AS total_error_excess_3h,
        count(*) FILTER (WHERE excess > 0) AS failing_keys_24h,
        list_sort(list_distinct(list(service) FILTER (WHERE excess > 0))) AS failing_services_24h,
        list_sort(list_distinct(list(endpoint) FILTER (WHERE excess > 0))) AS failing_endpoints_24h,
        list_sort(list_distinct(list(error_code) FILTER (WHERE excess > 0 AND error_code <> '')))
            AS failing_error_codes_24h
    FROM features.ticket_endpoint_excess GROUP BY ticket_id
),
lin AS (
    SELECT ticket_id,
        count(*) AS linear_matches,
        arg_min(identifier, match_rank) AS linear_top_identifier,
        arg_min(match_score, match_rank) AS linear_top_score,
        arg_min(is_open_at_t, match_rank) AS linear_top_is_open,
        arg_min(length(shared_error_codes), match_rank) AS linear_top_shared_error_codes,
        arg_min(length(shared_org_error_codes), match_rank) AS linear_top_shared_org_error_codes,
        arg_min(length(shared_endpoints), match_rank) AS linear_top_shared_endpoints,
        arg_min(text_jaccard, match_rank) AS linear_top_text_jaccard,
        arg_min(created_before_onset, match_rank) AS linear_top_created_before_onset,
        arg_min(length(matched_keys), match_rank) AS linear_top_matched_keys,
        arg_min(key_errors_3h, match_rank) AS linear_top_key_errors_3h,
        arg_min(key_excess_3h, match_rank) AS linear_top_key_excess_3h,
        arg_min(key_share_3h, match_rank) AS linear_top_key_share_3h
    FROM features.ticket_linear_matches GROUP BY ticket_id
)
SELECT
    i.ticket_id, i.organization_id, i.org_id, i.stripe_customer_id, i.created_at,
    i.investigated_at,
    tr.* EXCLUDE (ticket_id, org_id, investigated_at),
    ps.* EXCLUDE (ticket_id),
    tk.* EXCLUDE (ticket_id),
    t3.* EXCLUDE (ticket_id),
    ksp.* EXCLUDE (ticket_id),
    coalesce(ks.failing_keys_3h, 0) AS failing_keys_3h,
    coalesce(ks.total_error_excess_3h, 0) AS total_error_excess_3h,
    coalesce(ks.failing_keys_24h, 0) AS failing_keys_24h,
    coalesce(ks.failing_services_24h, []) AS failing_services_24h,
    coalesce(ks.failing_endpoints_24h, []) AS failing_endpoints_24h,
    coalesce(ks.failing_error_codes_24h, []) AS failing_error_codes_24h,
    o.error_onset_at, o.latency_onset_at, o.onset_at,
    date_diff('second', o.onset_at, i.investigated_at) / 60.0 AS minutes_onset_to_investigation,
    d.deployment_id IS NOT NULL AS has_deploy_candidate,
    d.* EXCLUDE (ticket_id, onset_at),
    so.* EXCLUDE (ticket_id),
    sd.minutes_since_service_deploy, sd.service_deploys_24h,
    rl.* EXCLUDE (ticket_id, subscription_id),
    b.* EXCLUDE (ticket_id, stripe_customer_id),
    coalesce(l.linear_matches, 0) AS linear_matches,
    l.* EXCLUDE (ticket_id, linear_matches),
    x.* EXCLUDE (ticket_id),
    h.* EXCLUDE (ticket_id),
    rt.routing_neighbours, rt.routing_misrouted_neighbours, rt.routing_misrouted_share,
    rt.routing_misrouted_weight, rt.routing_top_similarity
FROM intermediate.int_ticket_investigations AS i
LEFT JOIN features.ticket_traffic AS tr USING (ticket_id)
LEFT JOIN features.ticket_platform_share AS ps USING (ticket_id)
LEFT JOIN top_key AS tk USING (ticket_id)
LEFT JOIN top_key_3h AS t3 USING (ticket_id)
LEFT JOIN keys AS ks USING (ticket_id)
LEFT JOIN features.ticket_key_spread AS ksp USING (ticket_id)
LEFT JOIN features.ticket_onset AS o USING (ticket_id)
LEFT JOIN features.ticket_deploys AS d USING (ticket_id)
LEFT JOIN features.ticket_service_onset AS so USING (ticket_id)
LEFT JOIN features.ticket_service_deploys AS sd USING (ticket_id)
LEFT JOIN features.ticket_rate_limit AS rl USING (ticket_id)
LEFT JOIN features.ticket_billing AS b USING (ticket_id)
LEFT JOIN lin AS l USING (ticket_id)
LEFT JOIN features.ticket_text AS x USING (ticket_id)
LEFT JOIN features.ticket_history AS h USING (ticket_id)
LEFT JOIN features.ticket_routing AS rt USING (ticket_id)
