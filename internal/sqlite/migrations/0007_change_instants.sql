-- The instant of each hostPort change, for the console's timeline: the
-- latest scannedAt of the port's observations in the import that made the
-- change (Unix seconds), so that a mark sits on the scans' time axis rather
-- than at the hour the file happened to be ingested. NULL for the entries of
-- a rebuild, of hosts and certificates, and of imports recorded before this
-- migration (readers fall back to change_marks.at).
ALTER TABLE record_changes ADD COLUMN scanned_at INTEGER;
