-- The one lease of notification delivery (search-and-changes.md §5): of the
-- serve replicas on this database, only the holder delivers, so each change
-- is notified once, not once per replica. Times are the server's, so the
-- replicas' clocks need not agree; a holder that stops renewing loses the
-- lease after until.
CREATE TABLE notify_lease (
	id     integer PRIMARY KEY CHECK (id = 1),
	holder text NOT NULL,
	until  timestamptz NOT NULL
);
INSERT INTO notify_lease (id, holder, until) VALUES (1, '', 'epoch');
