-- The terms of sql/clickhouse/log_vocabulary.sql (endpoints, services, error codes in lower
-- case, the same expressions) over [{start}, {end}), each with its first request time and its
-- rows: the warehouse's copy of the vocabulary (warehouse/log_cache.py) merges ranges by min
-- and sum, and audits itself with the endpoint rows, which count every request.
SELECT kind, term, min(term_first_ts) AS first_ts, sum(term_rows) AS rows
FROM (
    SELECT 'endpoint' AS kind, toString(endpoint) AS term, min(ts) AS term_first_ts, count() AS term_rows
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY term
    UNION ALL
    SELECT 'service', toString(service), min(ts), count()
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY toString(service)
    UNION ALL
    SELECT 'error_code', lower(toString(error_code)), min(ts), count()
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
      AND error_code IS NOT NULL AND error_code != ''
    GROUP BY lower(toString(error_code))
)
GROUP BY kind, term
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
