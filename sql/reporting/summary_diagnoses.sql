-- Diagnoses of the tickets created since go-live (every ticket when $go_live is NULL), per
-- cause: delivered (the pipeline stated the cause) or abstained (counted under the cause it
-- found most probable, shown to nobody). Most delivered first.
SELECT coalesce(d.cause, d.top_cause) AS cause,
       count(*) FILTER (WHERE d.cause IS NOT NULL AND NOT d.abstained) AS delivered,
       count(*) FILTER (WHERE d.cause IS NULL OR d.abstained) AS abstained
FROM diagnosis.diagnoses AS d
JOIN staging.stg_zendesk__tickets AS t USING (ticket_id)
WHERE CAST($go_live AS TIMESTAMP) IS NULL OR t.created_at >= CAST($go_live AS TIMESTAMP)
GROUP BY ALL
ORDER BY delivered DESC, cause
