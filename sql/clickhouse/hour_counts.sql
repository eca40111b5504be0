-- Requests per hour over [start, end), every org together: the cheap audit of the hours the
-- org_hours source loaded before its re-read window (a count that differs from the one loaded
-- means rows arrived late, and the hour is read again). One row per hour.
SELECT
    toDateTime64(toStartOfHour(ts), 3, 'UTC') AS hour,
    count() AS requests
FROM {database:Identifier}.requests
WHERE ts >= {start:DateTime64(3, 'UTC')}
  AND ts < {end:DateTime64(3, 'UTC')}
GROUP BY hour
ORDER BY hour
