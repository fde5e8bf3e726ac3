-- The change record (search-and-changes.md §4–5): which items each import
-- changed and how, in an order delta tokens and a notification outbox can
-- follow. A position numbers one transaction that changed items; SQLite has
-- one writer at a time, so positions become visible in order.
--
-- record_changes holds one row per item and transaction; kinds is a
-- portolan.ChangeKind. Its key orders a transaction's rows; the id index
-- answers "does this item change again later in the range" so that a delta
-- round returns each item once.
CREATE TABLE record_changes (
	collection INTEGER NOT NULL, -- portolan.ChangeCollection
	position   INTEGER NOT NULL,
	id         TEXT    NOT NULL, -- the item's id as the API serves it
	kinds      INTEGER NOT NULL,
	PRIMARY KEY (collection, position, id)
) WITHOUT ROWID;
CREATE INDEX record_changes_id ON record_changes (collection, id, position);

-- One row per position: when it was recorded, for the retention window.
CREATE TABLE change_marks (
	position INTEGER PRIMARY KEY,
	at       INTEGER NOT NULL
);

-- position is the last position handed out; horizon the oldest position
-- whose changes are all still recorded (tokens before it get 410).
CREATE TABLE change_state (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	position INTEGER NOT NULL,
	horizon  INTEGER NOT NULL
);
INSERT INTO change_state (id, position, horizon) VALUES (1, 0, 1);
