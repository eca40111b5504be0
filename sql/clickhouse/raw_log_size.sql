-- The size of the raw request logs as ClickHouse stores them (active parts only): rows,
-- uncompressed bytes (the column data a wholesale copy would move) and compressed bytes on disk.
SELECT
    sum(rows) AS rows,
    sum(data_uncompressed_bytes) AS uncompressed_bytes,
    sum(data_compressed_bytes) AS compressed_bytes
FROM system.parts
WHERE database = {database:String}
  AND table = 'requests'
  AND active
