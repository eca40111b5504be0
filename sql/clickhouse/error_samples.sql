-- A bounded, deterministic sample of error rows (status >= 400): at most {per_bucket} rows per
-- org and per bucket of {bucket_minutes} minutes (buckets aligned to the epoch, the same as the
-- source's windows), over [start, end). Rows are picked by a hash of request_id, so the sample
-- spreads over the bucket and is the same on every read of the same rows.
SELECT
    request_id,
    ts,
    org_id,
    api_key_id,
    service,
    endpoint,
    method,
    status,
    error_code,
    latency_ms,
    region
FROM {database:Identifier}.requests
WHERE ts >= {start:DateTime64(3, 'UTC')}
  AND ts < {end:DateTime64(3, 'UTC')}
  AND status >= 400
ORDER BY org_id, toStartOfInterval(ts, toIntervalMinute({bucket_minutes:UInt32})),
         cityHash64(request_id), request_id
LIMIT {per_bucket:UInt32} BY org_id, toStartOfInterval(ts, toIntervalMinute({bucket_minutes:UInt32}))
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
