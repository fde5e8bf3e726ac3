// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
)

// RunSubscriptions checks a store's portolan.SubscriptionService: the
// owner's view (create, list, get, renew, delete, another owner's 404, the
// limit of 100), the cursor starting at the change watermark so that only
// later changes are read, and the dispatcher's writes (cursor, retry state,
// expiry) surviving as stored.
func RunSubscriptions(t *testing.T, open OpenFunc) {
	cases := []struct {
		name string
		fn   func(*testing.T, OpenFunc)
	}{
		{"Owner", testSubscriptionOwner},
		{"Limit", testSubscriptionLimit},
		{"CursorStartsAtWatermark", testSubscriptionCursor},
		{"DeliveryState", testSubscriptionDeliveryState},
		{"DeliveryLease", testDeliveryLease},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open)
		})
	}
}

func subscriptionService(t *testing.T, s portolan.Store) portolan.SubscriptionService {
	t.Helper()
	ss, ok := s.(portolan.SubscriptionService)
	if !ok {
		t.Fatalf("%T does not implement portolan.SubscriptionService", s)
	}
	return ss
}

var (
	alice = portolan.SubscriptionOwner{TenantID: "t1", CreatorID: "alice", ApplicationID: "app1"}
	// aliceOtherApp is alice through another application: another owner.
	aliceOtherApp = portolan.SubscriptionOwner{TenantID: "t1", CreatorID: "alice", ApplicationID: "app2"}
	bob           = portolan.SubscriptionOwner{TenantID: "t1", CreatorID: "bob"}
)

func newTestSubscription(owner portolan.SubscriptionOwner, n int) *portolan.Subscription {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &portolan.Subscription{
		ID:                       fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		Owner:                    owner,
		Change:                   portolan.SubscriptionCreated | portolan.SubscriptionUpdated,
		NotificationURL:          "https://receiver.example/hook",
		LifecycleNotificationURL: "https://receiver.example/lifecycle",
		Resource:                 "security/threatIntelligence/hostPorts?$filter=port eq 22",
		Filter:                   "port eq 22",
		ClientState:              "secret-state",
		Expiration:               now.Add(time.Hour),
		Created:                  now,
	}
}

func mustCreateSubscription(t *testing.T, ss portolan.SubscriptionService, s *portolan.Subscription) {
	t.Helper()
	if err := ss.CreateSubscription(context.Background(), s); err != nil {
		t.Fatalf("create subscription %s: %v", s.ID, err)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := portolan.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func testSubscriptionOwner(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	ss := subscriptionService(t, mustOpen(t, open))
	a1, a2, b := newTestSubscription(alice, 1), newTestSubscription(alice, 2), newTestSubscription(bob, 3)
	a2.LifecycleNotificationURL, a2.Filter, a2.ClientState = "", "", ""
	a2.Resource, a2.Change = portolan.SubscriptionResourceHostPorts, portolan.SubscriptionUpdated
	for _, s := range []*portolan.Subscription{a2, b, a1} {
		mustCreateSubscription(t, ss, s)
	}

	got, err := ss.FindSubscriptions(ctx, alice)
	must(t, err)
	if diff := cmp.Diff([]*portolan.Subscription{a1, a2}, got); diff != "" {
		t.Fatalf("alice's subscriptions (-want +got):\n%s", diff)
	}
	if got, err := ss.FindSubscriptions(ctx, aliceOtherApp); err != nil || len(got) != 0 {
		t.Fatalf("alice through another application sees %d subscriptions (err %v), want none", len(got), err)
	}
	one, err := ss.FindSubscriptionByID(ctx, bob, b.ID)
	must(t, err)
	if diff := cmp.Diff(b, one); diff != "" {
		t.Fatalf("bob's subscription (-want +got):\n%s", diff)
	}

	// Another owner's subscription does not exist for the caller.
	_, err = ss.FindSubscriptionByID(ctx, bob, a1.ID)
	wantCode(t, "bob reads alice's subscription", err, portolan.ENOTFOUND)
	_, err = ss.RenewSubscription(ctx, aliceOtherApp, a1.ID, a1.Expiration.Add(time.Hour))
	wantCode(t, "alice's other application renews it", err, portolan.ENOTFOUND)
	wantCode(t, "bob deletes it", ss.DeleteSubscription(ctx, bob, a1.ID), portolan.ENOTFOUND)
	_, err = ss.FindSubscriptionByID(ctx, alice, "00000000-0000-4000-8000-999999999999")
	wantCode(t, "a missing id", err, portolan.ENOTFOUND)

	later := a1.Expiration.Add(90 * time.Minute)
	renewed, err := ss.RenewSubscription(ctx, alice, a1.ID, later)
	must(t, err)
	want := *a1
	want.Expiration = later
	if diff := cmp.Diff(&want, renewed); diff != "" {
		t.Fatalf("renewed (-want +got):\n%s", diff)
	}

	must(t, ss.DeleteSubscription(ctx, alice, a1.ID))
	wantCode(t, "a second delete", ss.DeleteSubscription(ctx, alice, a1.ID), portolan.ENOTFOUND)
	if got, err := ss.FindSubscriptions(ctx, alice); err != nil || len(got) != 1 || got[0].ID != a2.ID {
		t.Fatalf("after the delete alice holds %v (err %v), want only %s", got, err, a2.ID)
	}
}

func testSubscriptionLimit(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	ss := subscriptionService(t, mustOpen(t, open))
	for i := range portolan.MaxSubscriptionsPerOwner {
		mustCreateSubscription(t, ss, newTestSubscription(alice, i))
	}
	err := ss.CreateSubscription(ctx, newTestSubscription(alice, 1000))
	wantCode(t, "subscription 101", err, portolan.ETOOMANY)
	// The limit is per owner.
	mustCreateSubscription(t, ss, newTestSubscription(bob, 1001))
	must(t, ss.DeleteSubscription(ctx, alice, newTestSubscription(alice, 0).ID))
	mustCreateSubscription(t, ss, newTestSubscription(alice, 1002))
}

func testSubscriptionCursor(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	store := mustOpen(t, open)
	ss := subscriptionService(t, store)
	cs, _ := changeService(t, store)
	seen := Base
	port := func(p int) *portolan.Observation {
		return &portolan.Observation{Host: "198.51.100.7", Port: p, Protocol: portolan.TCP, Status: portolan.StatusOpen,
			SeenAt: seen, ScannedAt: seen, Source: "native"}
	}
	mustImport(t, store, []*portolan.Observation{port(22)})
	settle(t, cs)
	s := newTestSubscription(alice, 1)
	mustCreateSubscription(t, ss, s)
	wm, err := cs.ChangeWatermark(ctx)
	must(t, err)
	if s.Cursor.Position > wm.Position || s.Cursor.AfterID != "" {
		t.Fatalf("new cursor %+v, want at most the watermark %d and no id", s.Cursor, wm.Position)
	}
	stored, err := ss.FindSubscriptionByID(ctx, alice, s.ID)
	must(t, err)
	if stored.Cursor != s.Cursor {
		t.Fatalf("stored cursor %+v, returned %+v", stored.Cursor, s.Cursor)
	}
	before, err := cs.Changes(ctx, s.Cursor.Position, math.MaxInt64)
	must(t, err)
	if len(before) != 0 {
		t.Fatalf("changes after a new subscription's cursor before any import: %v", before)
	}
	mustImport(t, store, []*portolan.Observation{port(443)})
	settle(t, cs)
	after, err := cs.Changes(ctx, s.Cursor.Position, math.MaxInt64)
	must(t, err)
	var ids []string
	for _, c := range after {
		if c.Collection == portolan.ChangedHostPorts {
			ids = append(ids, c.ID)
		}
	}
	if want := []string{portolan.HostPortID("198.51.100.7", portolan.TCP, 443)}; !cmp.Equal(want, ids) {
		t.Fatalf("hostPort changes after the cursor %v, want %v", ids, want)
	}
}

func testSubscriptionDeliveryState(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	ss := subscriptionService(t, mustOpen(t, open))
	now := time.Now().UTC().Truncate(time.Millisecond)
	live, dying := newTestSubscription(alice, 1), newTestSubscription(bob, 2)
	dying.Expiration = now.Add(time.Second)
	mustCreateSubscription(t, ss, live)
	mustCreateSubscription(t, ss, dying)

	retry := portolan.DeliveryRetry{FirstFailure: now, Attempts: 3, NextAttempt: now.Add(4 * time.Second)}
	must(t, ss.SaveDeliveryStates(ctx, []portolan.DeliveryState{{ID: live.ID, Cursor: live.Cursor, Retry: retry}}))
	active, err := ss.ActiveSubscriptions(ctx, now)
	must(t, err)
	if len(active) != 2 || active[0].ID != live.ID || active[0].Retry != retry {
		t.Fatalf("active %+v, want both with the retry state %+v on %s", active, retry, live.ID)
	}
	cur := portolan.SubscriptionCursor{Position: live.Cursor.Position + 7, AfterID: "NTEuMTAwLjcuMSQkNDQz"}
	other := portolan.SubscriptionCursor{Position: dying.Cursor.Position + 3}
	must(t, ss.SaveDeliveryStates(ctx, []portolan.DeliveryState{{ID: live.ID, Cursor: cur}, {ID: dying.ID, Cursor: other, Retry: retry},
		{ID: "00000000-0000-4000-8000-999999999999", Cursor: cur}})) // deleted meanwhile: skipped
	got, err := ss.FindSubscriptionByID(ctx, alice, live.ID)
	must(t, err)
	if got.Cursor != cur || got.Retry != (portolan.DeliveryRetry{}) {
		t.Fatalf("after advance: cursor %+v retry %+v, want %+v and no retry", got.Cursor, got.Retry, cur)
	}
	if got, err := ss.FindSubscriptionByID(ctx, bob, dying.ID); err != nil || got.Cursor != other || got.Retry != retry {
		t.Fatalf("the second state of one save: %+v (err %v), want cursor %+v retry %+v", got, err, other, retry)
	}

	later := now.Add(2 * time.Second)
	if active, err := ss.ActiveSubscriptions(ctx, later); err != nil || len(active) != 1 || active[0].ID != live.ID {
		t.Fatalf("active after the expiry of one: %v (err %v), want only %s", active, err, live.ID)
	}
	n, err := ss.DeleteExpiredSubscriptions(ctx, later)
	must(t, err)
	if n != 1 {
		t.Fatalf("deleted %d expired subscriptions, want 1", n)
	}
	if _, err := ss.FindSubscriptionByID(ctx, bob, dying.ID); portolan.ErrorCode(err) != portolan.ENOTFOUND {
		t.Fatalf("the expired subscription after the purge: %v", err)
	}
}

// testDeliveryLease: one holder at a time; the holder renews; another
// takes the lease once it ran out or was given up.
func testDeliveryLease(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open)
	ss := subscriptionService(t, s)
	ctx := context.Background()
	lease := func(holder string, ttl time.Duration) bool {
		t.Helper()
		held, err := ss.LeaseDelivery(ctx, holder, time.Now(), ttl)
		if err != nil {
			t.Fatalf("lease for %s: %v", holder, err)
		}
		return held
	}
	if !lease("a", time.Minute) {
		t.Fatal("a could not take the free lease")
	}
	if lease("b", time.Minute) {
		t.Fatal("b took the lease a holds")
	}
	if !lease("a", time.Minute) {
		t.Fatal("a could not renew its lease")
	}
	if !lease("a", -time.Millisecond) { // given up
		t.Fatal("a could not give its lease up")
	}
	time.Sleep(5 * time.Millisecond)
	if !lease("b", 200*time.Millisecond) {
		t.Fatal("b could not take the lease a gave up")
	}
	if lease("a", time.Minute) {
		t.Fatal("a took the lease b holds")
	}
	time.Sleep(300 * time.Millisecond)
	if !lease("a", time.Minute) {
		t.Fatal("a could not take the lease b let run out")
	}
}
