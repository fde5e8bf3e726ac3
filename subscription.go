// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"context"
	"strings"
	"time"
)

// This file holds Graph change notifications (search-and-changes.md §5):
// a subscription asks for a POST to a webhook whenever a hostPort is created
// or updated. The durable outbox is the change record itself (change.go)
// plus each subscription's persisted cursor into it: an import writes
// nothing for notifications, so ingest pays no extra cost whatever the
// number of subscriptions, and a crash of the server loses nothing (the
// cursor moves only after a receiver acknowledged).

// Subscription limits of §5.
const (
	// MaxSubscriptionLifetime is how far ahead expirationDateTime may be
	// (4,230 minutes, as Graph allows for most resources).
	MaxSubscriptionLifetime = 4230 * time.Minute
	// MaxSubscriptionsPerOwner is how many subscriptions one principal may
	// hold; more is ETOOMANY (429).
	MaxSubscriptionsPerOwner = 100
	// MaxClientStateLength bounds clientState, in characters.
	MaxClientStateLength = 128
	// SubscriptionResourceHostPorts is the one resource served.
	SubscriptionResourceHostPorts = "security/threatIntelligence/hostPorts"
)

// SubscriptionChange is a set of Graph change types a subscription asks for.
type SubscriptionChange uint8

// The change types of a subscription.
const (
	SubscriptionCreated SubscriptionChange = 1 << iota
	SubscriptionUpdated
)

// ParseSubscriptionChange reads Graph's changeType ("created", "updated" or
// both comma-separated). ok is false for anything else, including an empty
// value and "deleted" (hostPorts are never deleted by an import).
func ParseSubscriptionChange(s string) (c SubscriptionChange, ok bool) {
	for _, part := range strings.Split(s, ",") {
		switch strings.TrimSpace(part) {
		case "created":
			c |= SubscriptionCreated
		case "updated":
			c |= SubscriptionUpdated
		default:
			return 0, false
		}
	}
	return c, c != 0
}

// String is Graph's changeType: "created", "updated" or "created,updated".
func (c SubscriptionChange) String() string {
	var parts []string
	if c&SubscriptionCreated != 0 {
		parts = append(parts, "created")
	}
	if c&SubscriptionUpdated != 0 {
		parts = append(parts, "updated")
	}
	return strings.Join(parts, ",")
}

// notifiedKinds are the kinds of change a notification reports. Counters
// are delta's business (§5: the advance of lastSeen is not a
// notification); a rebuild recomputes every record under new rules, which
// says nothing about the estate, and would flood every receiver with one
// notification per hostPort: delta clients receive it, webhooks do not.
const notifiedKinds = ChangeCreated | ChangeStatus | ChangeBanners | ChangeServices | ChangeCertificate

// NotificationOf returns the change type under which a hostPort change is
// notified and the names of its changes member; ok is false when the
// change is not notified at all (counters only, or a rebuild).
func NotificationOf(k ChangeKind) (change SubscriptionChange, names []string, ok bool) {
	k &= notifiedKinds
	switch {
	case k == 0:
		return 0, nil, false
	case k&ChangeCreated != 0:
		return SubscriptionCreated, []string{"created"}, true
	}
	return SubscriptionUpdated, k.Names(), true
}

// SubscriptionOwner identifies who holds a subscription: another owner's
// subscription does not exist for a caller (404).
type SubscriptionOwner struct {
	// TenantID is the token's tid, CreatorID its sub (or oid) and
	// ApplicationID its appid (or azp), each "" when absent.
	TenantID, CreatorID, ApplicationID string
}

// OwnerOf returns the owner a principal's subscriptions are kept under.
func OwnerOf(p *Principal) SubscriptionOwner {
	if p == nil {
		return SubscriptionOwner{}
	}
	return SubscriptionOwner{TenantID: p.TenantID, CreatorID: p.Subject, ApplicationID: p.ApplicationID}
}

// SubscriptionCursor is where a subscription stands in the change record:
// every notification of the changes before Position, and of the hostPort
// changes at Position whose id sorts at or before AfterID, was delivered
// (or given up). AfterID lets a transaction with more than one POST's worth
// of changes resume in the middle after a restart. Ids compare as bytes,
// the order in which ChangeService.Changes returns them.
type SubscriptionCursor struct {
	Position int64
	AfterID  string
}

// Subscription is a Graph subscription and its delivery state.
type Subscription struct {
	// ID is a GUID.
	ID    string
	Owner SubscriptionOwner
	// Change is what the subscriber asked for.
	Change SubscriptionChange
	// NotificationURL and LifecycleNotificationURL are the webhooks; the
	// second may be "".
	NotificationURL          string
	LifecycleNotificationURL string
	// Resource is the resource as the subscriber wrote it, with its
	// ?$filter; Filter is that $filter's text ("" for none), checked at
	// creation.
	Resource    string
	Filter      string
	ClientState string
	Expiration  time.Time
	Created     time.Time

	// Cursor is the durable delivery position; the store sets it to the
	// change watermark at creation, so a subscription notifies the changes
	// committed after it was created (on PostgreSQL, while an older
	// transaction of the server runs, the watermark lags and it may also
	// notify changes committed shortly before: never fewer).
	Cursor SubscriptionCursor
	// Retry is the state of the batch at Cursor that failed; zero when the
	// last delivery succeeded.
	Retry DeliveryRetry
}

// DeliveryRetry is the persisted state of a failing delivery, so that a
// restart continues the same backoff and the same 4-hour window.
type DeliveryRetry struct {
	// FirstFailure is when the batch at the cursor first failed.
	FirstFailure time.Time
	// Attempts counts the failed attempts since.
	Attempts int
	// NextAttempt is when to try again.
	NextAttempt time.Time
}

// DeliveryState is what the dispatcher saves of one subscription.
type DeliveryState struct {
	ID     string
	Cursor SubscriptionCursor
	Retry  DeliveryRetry
}

// SubscriptionService keeps subscriptions and their delivery cursors.
type SubscriptionService interface {
	// CreateSubscription stores s (ID, Owner and the subscriber's fields
	// set by the caller) with its cursor at the change watermark, which
	// it writes back into s. ETOOMANY when the owner already holds
	// MaxSubscriptionsPerOwner subscriptions. Instants are kept to the
	// millisecond.
	CreateSubscription(ctx context.Context, s *Subscription) error
	// FindSubscriptions returns the owner's subscriptions, by id.
	FindSubscriptions(ctx context.Context, owner SubscriptionOwner) ([]*Subscription, error)
	// FindSubscriptionByID returns the owner's subscription id; ENOTFOUND
	// when it does not exist or belongs to another owner.
	FindSubscriptionByID(ctx context.Context, owner SubscriptionOwner, id string) (*Subscription, error)
	// RenewSubscription sets the expiration of the owner's subscription
	// id and returns it; ENOTFOUND as FindSubscriptionByID.
	RenewSubscription(ctx context.Context, owner SubscriptionOwner, id string, expiration time.Time) (*Subscription, error)
	// DeleteSubscription deletes the owner's subscription id; ENOTFOUND as
	// FindSubscriptionByID.
	DeleteSubscription(ctx context.Context, owner SubscriptionOwner, id string) error

	// ActiveSubscriptions returns every subscription of every owner that
	// expires after now, by id: what the dispatcher delivers for.
	ActiveSubscriptions(ctx context.Context, now time.Time) ([]*Subscription, error)
	// SaveDeliveryStates writes the cursor and retry state of several
	// subscriptions in one transaction (the dispatcher gathers them, so
	// that a thousand subscriptions acknowledging the same import cost
	// one write, not a thousand); a subscription deleted meanwhile is
	// skipped.
	SaveDeliveryStates(ctx context.Context, states []DeliveryState) error
	// DeleteExpiredSubscriptions deletes the subscriptions that expired at
	// or before now and returns how many.
	DeleteExpiredSubscriptions(ctx context.Context, now time.Time) (int, error)
	// LeaseDelivery takes or renews, for ttl from now, the one lease of
	// notification delivery and reports whether holder has it: several
	// serve processes share a store, and only the holder delivers, so
	// each change is notified once rather than once per process. A
	// holder that stops renewing loses the lease when it runs out; a
	// negative ttl gives it up.
	LeaseDelivery(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error)
}

// EndpointChecker checks a notification URL before a subscription is
// stored (search-and-changes.md §5).
type EndpointChecker interface {
	// ValidateEndpoint checks the URL's scheme and the addresses its host
	// resolves to (EINVALID, with the reason), then performs the
	// validation handshake: EVALIDATION unless the endpoint echoes the
	// token within 10 seconds.
	ValidateEndpoint(ctx context.Context, rawURL string) error
}

// SubscriptionNotFound is the ENOTFOUND of a subscription that does not
// exist for the caller (another owner's included: its existence is not
// revealed).
func SubscriptionNotFound(id string) error {
	return Errorf(ENOTFOUND, "The subscription '%s' does not exist.", CleanText(id, 100))
}
