-- Graph change notifications (search-and-changes.md §5). The outbox is the
-- change record (0003) plus each subscription's cursor into it: an import
-- writes nothing here, whatever the number of subscriptions. The cursor
-- (cursor_position, cursor_after_id) moves only after a receiver
-- acknowledged, so a crash loses nothing; the retry columns carry the
-- backoff of a failing batch across restarts. Instants are Unix seconds
-- (expiration and created in milliseconds, as Graph shows fractions).
CREATE TABLE subscriptions (
	id                         TEXT    PRIMARY KEY,
	tenant_id                  TEXT    NOT NULL,
	creator_id                 TEXT    NOT NULL,
	application_id             TEXT    NOT NULL,
	change_type                INTEGER NOT NULL, -- portolan.SubscriptionChange
	notification_url           TEXT    NOT NULL,
	lifecycle_notification_url TEXT    NOT NULL DEFAULT '',
	resource                   TEXT    NOT NULL,
	filter                     TEXT    NOT NULL DEFAULT '',
	client_state               TEXT    NOT NULL DEFAULT '',
	expiration_ms              INTEGER NOT NULL,
	created_ms                 INTEGER NOT NULL,
	cursor_position            INTEGER NOT NULL,
	cursor_after_id            TEXT    NOT NULL DEFAULT '',
	first_failure_ms           INTEGER, -- NULL while deliveries succeed
	attempts                   INTEGER NOT NULL DEFAULT 0,
	next_attempt_ms            INTEGER
);
-- An owner's subscriptions (list, the per-owner limit).
CREATE INDEX subscriptions_owner ON subscriptions (tenant_id, creator_id, application_id);
-- Expiry.
CREATE INDEX subscriptions_expiration ON subscriptions (expiration_ms);
