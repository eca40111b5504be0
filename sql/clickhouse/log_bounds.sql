-- First and last request time and row count of the loaded logs (where a first sync starts).
SELECT
    count() AS rows,
    min(ts) AS first_ts,
    max(ts) AS last_ts
FROM {database:Identifier}.requests
