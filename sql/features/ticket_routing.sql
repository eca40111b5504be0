-- Does the ticket belong to another team? Learned from the help desk's own history: the past
-- tickets whose words are most like this one's (k = 10 nearest by shared rare words), the cause
-- recorded on them by the investigation time t, and the group each was resolved in. A ticket
-- that reads like past tickets recorded as misrouted belongs where those ended up.
-- Words: lowercase [a-z][a-z0-9_]{2,} of subject + description. Weight of a word: its inverse
-- document frequency among the tickets created before this one, ln((n + 1) / (df + 1)); words
-- in more than 5% of those tickets (and more than 3 of them) are dropped: the data's own stop
-- words. Similarity: the summed weight of shared words. Neighbours: tickets created before t,
-- solved or closed by t, with a root cause recorded by t (the version valid at t); their group:
-- the group station current when first solved.
-- Scale: a word is looked up among its 200 most recent tickets before t, not all of them (each
-- ticket's words x every earlier ticket with the word grows with the square of the history;
-- capped, with the number of tickets). A rare word has at most 200 earlier tickets until the
-- history passes 4,000 tickets (5%).
WITH docs AS (
    SELECT ticket_id, created_at,
        unnest(list_distinct(regexp_extract_all(
            lower(coalesce(subject, '') || ' ' || coalesce(description, '')),
            '[a-z][a-z0-9_]{2,}'))) AS word
    FROM staging.stg_zendesk__tickets
),
seen AS (
    -- document frequency of each word, and number of tickets, before each ticket was created
    SELECT d.ticket_id, d.word,
        count(*) OVER (PARTITION BY d.word ORDER BY d.created_at, d.ticket_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS df,
        n.n_before
    FROM docs AS d
    JOIN (SELECT ticket_id, count(*) OVER (ORDER BY created_at, ticket_id
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     AS n_before
          FROM staging.stg_zendesk__tickets) AS n USING (ticket_id)
),
inv_words AS (
    SELECT i.ticket_id, i.investigated_at AS t, s.word,
        ln((s.n_before + 1.0) / (s.df + 1.0)) AS weight
    FROM intermediate.int_ticket_investigations AS i
    JOIN seen AS s USING (ticket_id)
    WHERE s.df >= 1 AND s.df <= greatest(0.05 * s.n_before, 3)
),
cause_versions AS (
    SELECT ticket_id, value AS cause, updated_at AS valid_from,
        lead(updated_at) OVER (PARTITION BY ticket_id ORDER BY updated_at, event_id) AS valid_to
    FROM staging.stg_zendesk__ticket_field_history
    WHERE field_name = 'root_cause'
),
solved AS (
    SELECT ticket_id, min(updated_at) AS solved_at
    FROM staging.stg_zendesk__ticket_field_history
    WHERE field_name = 'status' AND value IN ('solved', 'closed')
    GROUP BY ticket_id
),
resolved_in AS (
    SELECT s.ticket_id, s.solved_at,
        arg_max(g.group_id, g.station_number) AS group_id,
        arg_max(g.group_name, g.station_number) AS group_name
    FROM solved AS s
    JOIN intermediate.int_ticket_group_history AS g
        ON g.ticket_id = s.ticket_id AND g.valid_from <= s.solved_at
    GROUP BY s.ticket_id, s.solved_at
),
ref_words AS (
    -- a word's tickets numbered by creation, in blocks of 200: a ticket's 200 most recent
    -- references of the word lie in at most two blocks, found by equality. Every ticket counts
    -- (which of them were solved by t is decided later, at t)
    SELECT d.ticket_id, d.created_at, d.word,
        row_number() OVER (PARTITION BY d.word ORDER BY d.created_at, d.ticket_id) AS word_rank,
        (word_rank - 1) // 200 AS block
    FROM docs AS d
),
ref_word_times AS (
    SELECT word, created_at, max(word_rank) AS word_rank FROM ref_words GROUP BY word, created_at
),
inv_reach AS (
    -- the ranks of the word's references created before t, the most recent 200 of them other
    -- than the ticket itself (created before t when investigated after its creation, as the
    -- live path does: one rank more, so live and batch see the same references)
    SELECT w.ticket_id, w.t, w.word, w.weight, r.word_rank AS newest,
        greatest(r.word_rank - 199 - (own.word_rank <= r.word_rank)::INT, 1) AS oldest,
        unnest(range((oldest - 1) // 200, (r.word_rank - 1) // 200 + 1)) AS block
    FROM inv_words AS w
    ASOF JOIN ref_word_times AS r ON r.word = w.word AND w.t > r.created_at
    JOIN ref_words AS own ON own.ticket_id = w.ticket_id AND own.word = w.word
),
shared AS (
    SELECT w.ticket_id, w.t, w.word, w.weight, r.ticket_id AS ref_ticket_id
    FROM inv_reach AS w
    JOIN ref_words AS r
        ON r.word = w.word AND r.block = w.block AND r.word_rank BETWEEN w.oldest AND w.newest
       AND r.ticket_id <> w.ticket_id
),
pairs AS (
    SELECT ticket_id, any_value(t) AS t, ref_ticket_id, sum(weight) AS similarity
    FROM shared
    GROUP BY ticket_id, ref_ticket_id
),
labelled AS (
    SELECT p.*, c.cause, ri.group_id, ri.group_name
    FROM pairs AS p
    JOIN resolved_in AS ri ON ri.ticket_id = p.ref_ticket_id AND ri.solved_at <= p.t
    JOIN cause_versions AS c
        ON c.ticket_id = p.ref_ticket_id AND c.valid_from <= p.t
       AND (c.valid_to IS NULL OR c.valid_to > p.t)
    WHERE c.cause IS NOT NULL AND c.cause <> ''
),
nearest_pairs AS (
    -- similarity rounded: a float sum's last bits follow the order DuckDB adds in, which
    -- broke exact ties differently from one run to the next (two sums either side of a
    -- rounding boundary still can)
    SELECT *, row_number() OVER (PARTITION BY ticket_id
                                 ORDER BY round(similarity, 9) DESC, ref_ticket_id DESC) AS rank
    FROM labelled
    QUALIFY rank <= 10
),
nearest AS (
    -- the words each of the 10 shares, listed only for them (not for every pair)
    SELECT n.*, list(s.word ORDER BY s.weight DESC, s.word) AS shared_words
    FROM nearest_pairs AS n
    JOIN shared AS s USING (ticket_id, ref_ticket_id)
    GROUP BY ALL
),
votes AS (
    SELECT ticket_id, group_id, any_value(group_name) AS group_name, count(*) AS n
    FROM nearest WHERE cause = 'misrouted'
    GROUP BY ticket_id, group_id
)
SELECT
    i.ticket_id,
    count(n.ref_ticket_id) AS routing_neighbours,
    count(n.ref_ticket_id) FILTER (WHERE n.cause = 'misrouted') AS routing_misrouted_neighbours,
    coalesce(count(n.ref_ticket_id) FILTER (WHERE n.cause = 'misrouted')
             / nullif(count(n.ref_ticket_id), 0), 0) AS routing_misrouted_share,
    coalesce(sum(n.similarity) FILTER (WHERE n.cause = 'misrouted')
             / nullif(sum(n.similarity), 0), 0) AS routing_misrouted_weight,
    max(n.similarity) AS routing_top_similarity,
    (SELECT arg_max(v.group_name, [v.n, -v.group_id]) FROM votes AS v
     WHERE v.ticket_id = i.ticket_id) AS routing_group,
    (SELECT arg_max(v.group_id, [v.n, -v.group_id]) FROM votes AS v
     WHERE v.ticket_id = i.ticket_id) AS routing_group_id,
    (SELECT max(v.n) FROM votes AS v WHERE v.ticket_id = i.ticket_id) AS routing_group_votes,
    list(n.ref_ticket_id ORDER BY n.rank) FILTER (WHERE n.cause = 'misrouted')
        AS routing_misrouted_ticket_ids,
    list_distinct(flatten(list(n.shared_words[1:3] ORDER BY n.rank)
        FILTER (WHERE n.cause = 'misrouted')))[1:5] AS routing_shared_words
FROM intermediate.int_ticket_investigations AS i
LEFT JOIN nearest AS n USING (ticket_id)
GROUP BY i.ticket_id
