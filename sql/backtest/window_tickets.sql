-- The tickets (not deleted) created in the backtest's window [$window_start, $window_end).
SELECT ticket_id
FROM staging.stg_zendesk__tickets
WHERE created_at >= $window_start AND created_at < $window_end
  AND NOT coalesce(is_deleted, false)
