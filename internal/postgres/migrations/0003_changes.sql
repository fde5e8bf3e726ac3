-- The change record (search-and-changes.md §4–5): which items each import
-- changed and how. A position is the id of the transaction that made the
-- change (pg_current_xact_id()): several importers commit concurrently, so
-- no counter becomes visible in order, but a reader's snapshot tells which
-- transaction ids may still commit (those at or after its xmin). A delta
-- round reads the positions below the xmin of the snapshot it began with:
-- every transaction there has ended, and every later change will have a
-- position at or after it (portolan.Watermark).
--
-- change_kinds is what the last upsert of a host_ports row changed
-- (portolan.ChangeKind), computed in the upsert from the stored and the new
-- values; the import reads it back with RETURNING. It is not indexed, so
-- that updates stay HOT.
ALTER TABLE host_ports ADD COLUMN change_kinds smallint NOT NULL DEFAULT 0;

-- One row per item and transaction; the id index answers "does this item
-- change again later in the range", so that a round returns each item once.
CREATE TABLE record_changes (
	collection smallint NOT NULL, -- portolan.ChangeCollection
	position   bigint NOT NULL,
	id         text COLLATE "C" NOT NULL, -- the item's id as the API serves it
	kinds      smallint NOT NULL,
	PRIMARY KEY (collection, position, id)
);
CREATE INDEX record_changes_id ON record_changes (collection, id, position);

-- One row per position: when it was recorded, for the retention window.
CREATE TABLE change_marks (
	position bigint PRIMARY KEY,
	at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- horizon is the oldest position whose changes are all still recorded
-- (tokens before it get 410).
CREATE TABLE change_state (
	id      integer PRIMARY KEY CHECK (id = 1),
	horizon bigint NOT NULL
);
INSERT INTO change_state (id, horizon) VALUES (1, 0);
