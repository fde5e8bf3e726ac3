// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"portolan"
)

// Subscriptions (migration 0004). Every write is one short statement or
// transaction; the dispatcher writes only when a receiver acknowledged or
// failed, never per import.

var _ portolan.SubscriptionService = (*DB)(nil)

const subscriptionColumns = `id, tenant_id, creator_id, application_id, change_type, notification_url,
	lifecycle_notification_url, resource, filter, client_state, expiration, created,
	cursor_position, cursor_after_id, first_failure, attempts, next_attempt`

// toMillis keeps an instant to the millisecond, as the SQLite store does,
// so that both stores answer the same values.
func toMillis(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

func optionalInstant(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = toMillis(t)
	return &t
}

func scanSubscription(row pgx.Row) (*portolan.Subscription, error) {
	var s portolan.Subscription
	var change int16
	var first, next *time.Time
	err := row.Scan(&s.ID, &s.Owner.TenantID, &s.Owner.CreatorID, &s.Owner.ApplicationID, &change, &s.NotificationURL,
		&s.LifecycleNotificationURL, &s.Resource, &s.Filter, &s.ClientState, &s.Expiration, &s.Created,
		&s.Cursor.Position, &s.Cursor.AfterID, &first, &s.Retry.Attempts, &next)
	if err != nil {
		return nil, err
	}
	s.Change = portolan.SubscriptionChange(change)
	s.Expiration, s.Created = s.Expiration.UTC(), s.Created.UTC()
	if first != nil {
		s.Retry.FirstFailure = first.UTC()
	}
	if next != nil {
		s.Retry.NextAttempt = next.UTC()
	}
	return &s, nil
}

// CreateSubscription implements portolan.SubscriptionService. A transaction
// advisory lock on the owner makes the count and the insert of concurrent
// requests take turns, so that none passes the limit. The cursor starts at
// the watermark of the transaction's snapshot (change.go).
func (db *DB) CreateSubscription(ctx context.Context, s *portolan.Subscription) error {
	s.Cursor.AfterID = ""
	s.Retry = portolan.DeliveryRetry{}
	s.Expiration, s.Created = toMillis(s.Expiration), toMillis(s.Created)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2 || chr(31) || $3, 0))`,
			s.Owner.TenantID, s.Owner.CreatorID, s.Owner.ApplicationID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM subscriptions WHERE tenant_id = $1 AND creator_id = $2 AND application_id = $3`,
			s.Owner.TenantID, s.Owner.CreatorID, s.Owner.ApplicationID).Scan(&n); err != nil {
			return err
		}
		if n >= portolan.MaxSubscriptionsPerOwner {
			return portolan.Errorf(portolan.ETOOMANY, "The caller already holds %d subscriptions, the most allowed; delete one first.", n)
		}
		return tx.QueryRow(ctx, `INSERT INTO subscriptions (`+subscriptionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, pg_snapshot_xmin(pg_current_snapshot())::text::bigint, '', NULL, 0, NULL)
			RETURNING cursor_position`,
			s.ID, s.Owner.TenantID, s.Owner.CreatorID, s.Owner.ApplicationID, int16(s.Change), s.NotificationURL,
			s.LifecycleNotificationURL, s.Resource, s.Filter, s.ClientState, s.Expiration, s.Created).Scan(&s.Cursor.Position)
	})
	return storeError("create subscription", err)
}

func (db *DB) findSubscriptions(ctx context.Context, what, where string, args ...any) ([]*portolan.Subscription, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, storeError(what, err)
	}
	defer rows.Close()
	var out []*portolan.Subscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, storeError(what, err)
		}
		out = append(out, s)
	}
	return out, storeError(what, rows.Err())
}

// FindSubscriptions implements portolan.SubscriptionService.
func (db *DB) FindSubscriptions(ctx context.Context, owner portolan.SubscriptionOwner) ([]*portolan.Subscription, error) {
	return db.findSubscriptions(ctx, "list subscriptions", `tenant_id = $1 AND creator_id = $2 AND application_id = $3`,
		owner.TenantID, owner.CreatorID, owner.ApplicationID)
}

// FindSubscriptionByID implements portolan.SubscriptionService.
func (db *DB) FindSubscriptionByID(ctx context.Context, owner portolan.SubscriptionOwner, id string) (*portolan.Subscription, error) {
	subs, err := db.findSubscriptions(ctx, "read subscription", `id = $1 AND tenant_id = $2 AND creator_id = $3 AND application_id = $4`,
		id, owner.TenantID, owner.CreatorID, owner.ApplicationID)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, portolan.SubscriptionNotFound(id)
	}
	return subs[0], nil
}

// RenewSubscription implements portolan.SubscriptionService.
func (db *DB) RenewSubscription(ctx context.Context, owner portolan.SubscriptionOwner, id string, expiration time.Time) (*portolan.Subscription, error) {
	row := db.pool.QueryRow(ctx, `UPDATE subscriptions SET expiration = $1
		WHERE id = $2 AND tenant_id = $3 AND creator_id = $4 AND application_id = $5 RETURNING `+subscriptionColumns,
		toMillis(expiration), id, owner.TenantID, owner.CreatorID, owner.ApplicationID)
	s, err := scanSubscription(row)
	if err == pgx.ErrNoRows {
		return nil, portolan.SubscriptionNotFound(id)
	}
	return s, storeError("renew subscription", err)
}

// checkOne turns a statement that touched no row into ENOTFOUND.
func checkOne(tag pgconn.CommandTag, err error, what, id string) error {
	if err != nil {
		return storeError(what, err)
	}
	if tag.RowsAffected() == 0 {
		return portolan.SubscriptionNotFound(id)
	}
	return nil
}

// DeleteSubscription implements portolan.SubscriptionService.
func (db *DB) DeleteSubscription(ctx context.Context, owner portolan.SubscriptionOwner, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM subscriptions WHERE id = $1 AND tenant_id = $2 AND creator_id = $3 AND application_id = $4`,
		id, owner.TenantID, owner.CreatorID, owner.ApplicationID)
	return checkOne(tag, err, "delete subscription", id)
}

// ActiveSubscriptions implements portolan.SubscriptionService.
func (db *DB) ActiveSubscriptions(ctx context.Context, now time.Time) ([]*portolan.Subscription, error) {
	return db.findSubscriptions(ctx, "list active subscriptions", `expiration > $1`, now)
}

// SaveDeliveryStates implements portolan.SubscriptionService: one
// statement over arrays, whatever the number of subscriptions.
func (db *DB) SaveDeliveryStates(ctx context.Context, states []portolan.DeliveryState) error {
	if len(states) == 0 {
		return nil
	}
	n := len(states)
	ids, afters := make([]string, n), make([]string, n)
	positions, attempts := make([]int64, n), make([]int32, n)
	firsts, nexts := make([]*time.Time, n), make([]*time.Time, n)
	for i, s := range states {
		ids[i], positions[i], afters[i] = s.ID, s.Cursor.Position, s.Cursor.AfterID
		firsts[i], attempts[i], nexts[i] = optionalInstant(s.Retry.FirstFailure), int32(s.Retry.Attempts), optionalInstant(s.Retry.NextAttempt)
	}
	_, err := db.pool.Exec(ctx, `UPDATE subscriptions AS s SET cursor_position = u.p, cursor_after_id = u.a,
		first_failure = u.f, attempts = u.n, next_attempt = u.x
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::integer[], $6::timestamptz[]) AS u(id, p, a, f, n, x)
		WHERE s.id = u.id`, ids, positions, afters, firsts, attempts, nexts)
	return storeError("save delivery states", err)
}

// DeleteExpiredSubscriptions implements portolan.SubscriptionService.
func (db *DB) DeleteExpiredSubscriptions(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM subscriptions WHERE expiration <= $1`, now)
	if err != nil {
		return 0, storeError("delete expired subscriptions", err)
	}
	return int(tag.RowsAffected()), nil
}

// LeaseDelivery implements portolan.SubscriptionService with the one row of
// notify_lease, on the server's clock (now is not used): taken when free or
// run out, renewed by its holder.
func (db *DB) LeaseDelivery(ctx context.Context, holder string, _ time.Time, ttl time.Duration) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE notify_lease SET holder = $1, until = now() + make_interval(secs => $2) WHERE id = 1 AND (holder = $1 OR until < now())`,
		holder, ttl.Seconds())
	if err != nil {
		return false, storeError("lease notification delivery", err)
	}
	return tag.RowsAffected() == 1, nil
}
