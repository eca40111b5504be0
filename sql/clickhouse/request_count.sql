-- Requests over [{start}, {end}): the audit of the warehouse's copy of the log vocabulary
-- (warehouse/log_cache.py): another count than the copy's means rows arrived late.
SELECT count() AS requests
FROM {database:Identifier}.requests
WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
