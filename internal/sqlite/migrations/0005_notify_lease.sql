-- The one lease of notification delivery (search-and-changes.md §5): of the
-- serve processes sharing this store, only the holder delivers, so each
-- change is notified once, not once per process. until is Unix
-- milliseconds; a holder that stops renewing loses the lease after it.
CREATE TABLE notify_lease (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	holder TEXT    NOT NULL,
	until  INTEGER NOT NULL
);
INSERT INTO notify_lease (id, holder, until) VALUES (1, '', 0);
