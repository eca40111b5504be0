-- the mark of a source the live path has just synced
INSERT OR REPLACE INTO delivery.live_sync_marks (source, mark, synced_at)
VALUES ($source, $mark, $synced_at)
