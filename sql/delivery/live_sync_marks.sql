-- the change mark and clock of each source's last live sync (live_sync_marks_table.sql)
SELECT source, mark, synced_at FROM delivery.live_sync_marks
