-- Graph change notifications (search-and-changes.md §5). The outbox is the
-- change record (0003) plus each subscription's cursor into it: an import
-- writes nothing here, whatever the number of subscriptions. The cursor
-- (cursor_position, cursor_after_id) moves only after a receiver
-- acknowledged, so a crash loses nothing; the retry columns carry the
-- backoff of a failing batch across restarts. cursor_after_id compares as
-- bytes (COLLATE "C"), like record_changes.id.
CREATE TABLE subscriptions (
	id                         text PRIMARY KEY,
	tenant_id                  text NOT NULL,
	creator_id                 text NOT NULL,
	application_id             text NOT NULL,
	change_type                smallint NOT NULL, -- portolan.SubscriptionChange
	notification_url           text NOT NULL,
	lifecycle_notification_url text NOT NULL DEFAULT '',
	resource                   text NOT NULL,
	filter                     text NOT NULL DEFAULT '',
	client_state               text NOT NULL DEFAULT '',
	expiration                 timestamptz NOT NULL,
	created                    timestamptz NOT NULL,
	cursor_position            bigint NOT NULL,
	cursor_after_id            text COLLATE "C" NOT NULL DEFAULT '',
	first_failure              timestamptz, -- NULL while deliveries succeed
	attempts                   integer NOT NULL DEFAULT 0,
	next_attempt               timestamptz
);
CREATE INDEX subscriptions_owner ON subscriptions (tenant_id, creator_id, application_id);
CREATE INDEX subscriptions_expiration ON subscriptions (expiration);
