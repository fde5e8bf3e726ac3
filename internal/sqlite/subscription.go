// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"time"

	"portolan"
)

// Subscriptions (migration 0004). Every write is one short transaction on
// the write connection; the dispatcher writes only when a receiver
// acknowledged or failed, never per import.

var _ portolan.SubscriptionService = (*DB)(nil)

const subscriptionColumns = `id, tenant_id, creator_id, application_id, change_type, notification_url,
	lifecycle_notification_url, resource, filter, client_state, expiration_ms, created_ms,
	cursor_position, cursor_after_id, first_failure_ms, attempts, next_attempt_ms`

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}

func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(t), Valid: true}
}

func scanSubscription(row interface{ Scan(...any) error }) (*portolan.Subscription, error) {
	var s portolan.Subscription
	var exp, created int64
	var first, next sql.NullInt64
	err := row.Scan(&s.ID, &s.Owner.TenantID, &s.Owner.CreatorID, &s.Owner.ApplicationID, &s.Change, &s.NotificationURL,
		&s.LifecycleNotificationURL, &s.Resource, &s.Filter, &s.ClientState, &exp, &created,
		&s.Cursor.Position, &s.Cursor.AfterID, &first, &s.Retry.Attempts, &next)
	if err != nil {
		return nil, err
	}
	s.Expiration, s.Created = fromMillis(exp), fromMillis(created)
	s.Retry.FirstFailure, s.Retry.NextAttempt = fromNullMillis(first), fromNullMillis(next)
	return &s, nil
}

// CreateSubscription implements portolan.SubscriptionService. The count and
// the insert share the write transaction (taken at BEGIN), so two requests
// of one owner cannot both pass the limit.
func (db *DB) CreateSubscription(ctx context.Context, s *portolan.Subscription) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.storeError("begin create subscription", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions WHERE tenant_id = ? AND creator_id = ? AND application_id = ?`,
		s.Owner.TenantID, s.Owner.CreatorID, s.Owner.ApplicationID).Scan(&n); err != nil {
		return db.storeError("count subscriptions", err)
	}
	if n >= portolan.MaxSubscriptionsPerOwner {
		return portolan.Errorf(portolan.ETOOMANY, "The caller already holds %d subscriptions, the most allowed; delete one first.", n)
	}
	// The cursor starts at the watermark: the first position not yet
	// visible, read in the transaction that holds the write lock.
	if err := tx.QueryRowContext(ctx, `SELECT position + 1 FROM change_state WHERE id = 1`).Scan(&s.Cursor.Position); err != nil {
		return db.storeError("read change watermark", err)
	}
	s.Cursor.AfterID = ""
	s.Retry = portolan.DeliveryRetry{}
	s.Expiration, s.Created = fromMillis(millis(s.Expiration)), fromMillis(millis(s.Created))
	if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (`+subscriptionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, 0, NULL)`,
		s.ID, s.Owner.TenantID, s.Owner.CreatorID, s.Owner.ApplicationID, int(s.Change), s.NotificationURL,
		s.LifecycleNotificationURL, s.Resource, s.Filter, s.ClientState, millis(s.Expiration), millis(s.Created),
		s.Cursor.Position); err != nil {
		return db.storeError("insert subscription", err)
	}
	return db.storeError("commit subscription", tx.Commit())
}

func (db *DB) findSubscriptions(ctx context.Context, what, where string, args ...any) ([]*portolan.Subscription, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, db.storeError(what, err)
	}
	defer rows.Close()
	var out []*portolan.Subscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, db.storeError(what, err)
		}
		out = append(out, s)
	}
	return out, db.storeError(what, rows.Err())
}

// FindSubscriptions implements portolan.SubscriptionService.
func (db *DB) FindSubscriptions(ctx context.Context, owner portolan.SubscriptionOwner) ([]*portolan.Subscription, error) {
	return db.findSubscriptions(ctx, "list subscriptions", `tenant_id = ? AND creator_id = ? AND application_id = ?`,
		owner.TenantID, owner.CreatorID, owner.ApplicationID)
}

// FindSubscriptionByID implements portolan.SubscriptionService.
func (db *DB) FindSubscriptionByID(ctx context.Context, owner portolan.SubscriptionOwner, id string) (*portolan.Subscription, error) {
	subs, err := db.findSubscriptions(ctx, "read subscription", `id = ? AND tenant_id = ? AND creator_id = ? AND application_id = ?`,
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
	res, err := db.write.ExecContext(ctx, `UPDATE subscriptions SET expiration_ms = ?
		WHERE id = ? AND tenant_id = ? AND creator_id = ? AND application_id = ?`,
		millis(expiration), id, owner.TenantID, owner.CreatorID, owner.ApplicationID)
	if err := db.checkOne(res, err, "renew subscription", id); err != nil {
		return nil, err
	}
	subs, err := db.findSubscriptions(ctx, "read subscription", `id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, portolan.SubscriptionNotFound(id) // deleted meanwhile
	}
	return subs[0], nil
}

// checkOne turns an update of no row into ENOTFOUND.
func (db *DB) checkOne(res sql.Result, err error, what, id string) error {
	if err != nil {
		return db.storeError(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return db.storeError(what, err)
	}
	if n == 0 {
		return portolan.SubscriptionNotFound(id)
	}
	return nil
}

// DeleteSubscription implements portolan.SubscriptionService.
func (db *DB) DeleteSubscription(ctx context.Context, owner portolan.SubscriptionOwner, id string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ? AND tenant_id = ? AND creator_id = ? AND application_id = ?`,
		id, owner.TenantID, owner.CreatorID, owner.ApplicationID)
	return db.checkOne(res, err, "delete subscription", id)
}

// ActiveSubscriptions implements portolan.SubscriptionService.
func (db *DB) ActiveSubscriptions(ctx context.Context, now time.Time) ([]*portolan.Subscription, error) {
	return db.findSubscriptions(ctx, "list active subscriptions", `expiration_ms > ?`, millis(now))
}

// SaveDeliveryStates implements portolan.SubscriptionService: one write
// transaction, one prepared statement.
func (db *DB) SaveDeliveryStates(ctx context.Context, states []portolan.DeliveryState) error {
	if len(states) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.storeError("begin save delivery states", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `UPDATE subscriptions SET cursor_position = ?, cursor_after_id = ?,
		first_failure_ms = ?, attempts = ?, next_attempt_ms = ? WHERE id = ?`)
	if err != nil {
		return db.storeError("save delivery states", err)
	}
	defer st.Close()
	for _, s := range states {
		if _, err := st.ExecContext(ctx, s.Cursor.Position, s.Cursor.AfterID,
			nullMillis(s.Retry.FirstFailure), s.Retry.Attempts, nullMillis(s.Retry.NextAttempt), s.ID); err != nil {
			return db.storeError("save delivery states", err)
		}
	}
	return db.storeError("commit delivery states", tx.Commit())
}

// DeleteExpiredSubscriptions implements portolan.SubscriptionService.
func (db *DB) DeleteExpiredSubscriptions(ctx context.Context, now time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM subscriptions WHERE expiration_ms <= ?`, millis(now))
	if err != nil {
		return 0, db.storeError("delete expired subscriptions", err)
	}
	n, err := res.RowsAffected()
	return int(n), db.storeError("delete expired subscriptions", err)
}

// LeaseDelivery implements portolan.SubscriptionService with the one row of
// notify_lease: taken when free or run out, renewed by its holder.
func (db *DB) LeaseDelivery(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE notify_lease SET holder = ?1, until = ?2 WHERE id = 1 AND (holder = ?1 OR until < ?3)`,
		holder, millis(now.Add(ttl)), millis(now))
	if err != nil {
		return false, db.storeError("lease notification delivery", err)
	}
	n, err := res.RowsAffected()
	return n == 1, db.storeError("lease notification delivery", err)
}
