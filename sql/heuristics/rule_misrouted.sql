-- misrouted: the ticket reads like past tickets that were recorded as misrouted (the help
-- desk's own history, features.ticket_routing): of its 10 nearest past tickets by shared rare
-- words, those recorded misrouted carry at least 35% of the similarity, and there are at
-- least 2 of them. The group: where most of those were resolved. Score: 0.6 + 0.4 x that
-- share, at most 0.97: what the ticket asks for outranks account state that merely coincides
-- (a past-due customer asking for a security report). Nothing about the groups or the words
-- is fixed here: both come from the tickets.
SELECT
    r.ticket_id,
    'misrouted' AS cause,
    least(0.97, 0.6 + 0.4 * r.routing_misrouted_weight) AS score,
    [
        {'source': 'zendesk', 'object_id': coalesce(r.routing_group_id::VARCHAR, ''),
         'summary': printf('%d of the %d most similar past tickets (%s) were recorded misrouted (%.0f%% of the similarity); %d of them were resolved by %s. Shared words: %s',
                           r.routing_misrouted_neighbours, r.routing_neighbours,
                           array_to_string(list_transform(r.routing_misrouted_ticket_ids[1:5], lambda x: '#' || x::VARCHAR), ', '),
                           100 * r.routing_misrouted_weight, coalesce(r.routing_group_votes, 0),
                           coalesce(r.routing_group, 'another group'),
                           array_to_string(r.routing_shared_words, ', ')),
         'link': NULL,
         'reproducing_query': 'GET /api/v2/tickets/show_many.json?ids='
             || array_to_string(list_transform(r.routing_misrouted_ticket_ids, lambda x: x::VARCHAR), ','),
         'query_parameters': NULL}
    ] AS evidence
FROM features.ticket_routing AS r
WHERE r.routing_misrouted_weight >= 0.35
  AND r.routing_misrouted_neighbours >= 2
