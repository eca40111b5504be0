-- The vocabulary that exists in the request logs up to {end}: endpoints, services and error
-- codes (lower case), each with the end of the first minute it was seen in (a term is usable
-- for a ticket only if seen before the ticket's investigation time). A few rows per term,
-- whatever the log volume (features/ticket_text.sql). Parameters: [{start}, {end}).
SELECT kind, term, min(first_minute) + INTERVAL 1 MINUTE AS first_seen_at
FROM (
    SELECT 'endpoint' AS kind, toString(endpoint) AS term,
        toDateTime64(toStartOfMinute(min(ts)), 3, 'UTC') AS first_minute
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY term
    UNION ALL
    SELECT 'service', toString(service), toDateTime64(toStartOfMinute(min(ts)), 3, 'UTC')
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY toString(service)
    UNION ALL
    SELECT 'error_code', lower(toString(error_code)),
        toDateTime64(toStartOfMinute(min(ts)), 3, 'UTC')
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
      AND error_code IS NOT NULL AND error_code != ''
    GROUP BY lower(toString(error_code))
)
GROUP BY kind, term
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
