-- One org's requests per HTTP status over [start, end): the basic per-org aggregation an
-- investigation starts from.
SELECT
    status,
    count() AS requests
FROM {database:Identifier}.requests
WHERE org_id = {org_id:String}
  AND ts >= {start:DateTime64(3, 'UTC')}
  AND ts < {end:DateTime64(3, 'UTC')}
GROUP BY status
ORDER BY status
