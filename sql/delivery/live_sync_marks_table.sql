-- delivery.live_sync_marks: per source, the change mark (sources/change_marks.py) taken just
-- before the live path's last successful sync of it, and the clock of that sync. A source
-- whose mark is unchanged and whose sync is younger than the maximum age is not synced again.
CREATE SCHEMA IF NOT EXISTS delivery;
CREATE TABLE IF NOT EXISTS delivery.live_sync_marks (
    source     VARCHAR PRIMARY KEY,
    mark       VARCHAR,
    synced_at  TIMESTAMP NOT NULL  -- UTC, the pipeline's clock at the sync
);
