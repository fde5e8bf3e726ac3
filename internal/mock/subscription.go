// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"
	"time"

	"portolan"
)

var (
	_ portolan.SubscriptionService = (*SubscriptionService)(nil)
	_ portolan.EndpointChecker     = (*EndpointChecker)(nil)
)

// SubscriptionService is a mock of portolan.SubscriptionService.
type SubscriptionService struct {
	CreateSubscriptionFn         func(ctx context.Context, s *portolan.Subscription) error
	FindSubscriptionsFn          func(ctx context.Context, owner portolan.SubscriptionOwner) ([]*portolan.Subscription, error)
	FindSubscriptionByIDFn       func(ctx context.Context, owner portolan.SubscriptionOwner, id string) (*portolan.Subscription, error)
	RenewSubscriptionFn          func(ctx context.Context, owner portolan.SubscriptionOwner, id string, expiration time.Time) (*portolan.Subscription, error)
	DeleteSubscriptionFn         func(ctx context.Context, owner portolan.SubscriptionOwner, id string) error
	ActiveSubscriptionsFn        func(ctx context.Context, now time.Time) ([]*portolan.Subscription, error)
	SaveDeliveryStatesFn         func(ctx context.Context, states []portolan.DeliveryState) error
	DeleteExpiredSubscriptionsFn func(ctx context.Context, now time.Time) (int, error)
	LeaseDeliveryFn              func(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error)
}

// CreateSubscription calls CreateSubscriptionFn.
func (s *SubscriptionService) CreateSubscription(ctx context.Context, sub *portolan.Subscription) error {
	return s.CreateSubscriptionFn(ctx, sub)
}

// FindSubscriptions calls FindSubscriptionsFn.
func (s *SubscriptionService) FindSubscriptions(ctx context.Context, owner portolan.SubscriptionOwner) ([]*portolan.Subscription, error) {
	return s.FindSubscriptionsFn(ctx, owner)
}

// FindSubscriptionByID calls FindSubscriptionByIDFn.
func (s *SubscriptionService) FindSubscriptionByID(ctx context.Context, owner portolan.SubscriptionOwner, id string) (*portolan.Subscription, error) {
	return s.FindSubscriptionByIDFn(ctx, owner, id)
}

// RenewSubscription calls RenewSubscriptionFn.
func (s *SubscriptionService) RenewSubscription(ctx context.Context, owner portolan.SubscriptionOwner, id string, expiration time.Time) (*portolan.Subscription, error) {
	return s.RenewSubscriptionFn(ctx, owner, id, expiration)
}

// DeleteSubscription calls DeleteSubscriptionFn.
func (s *SubscriptionService) DeleteSubscription(ctx context.Context, owner portolan.SubscriptionOwner, id string) error {
	return s.DeleteSubscriptionFn(ctx, owner, id)
}

// ActiveSubscriptions calls ActiveSubscriptionsFn.
func (s *SubscriptionService) ActiveSubscriptions(ctx context.Context, now time.Time) ([]*portolan.Subscription, error) {
	return s.ActiveSubscriptionsFn(ctx, now)
}

// SaveDeliveryStates calls SaveDeliveryStatesFn.
func (s *SubscriptionService) SaveDeliveryStates(ctx context.Context, states []portolan.DeliveryState) error {
	return s.SaveDeliveryStatesFn(ctx, states)
}

// DeleteExpiredSubscriptions calls DeleteExpiredSubscriptionsFn.
func (s *SubscriptionService) DeleteExpiredSubscriptions(ctx context.Context, now time.Time) (int, error) {
	return s.DeleteExpiredSubscriptionsFn(ctx, now)
}

// EndpointChecker is a mock of portolan.EndpointChecker.
type EndpointChecker struct {
	ValidateEndpointFn func(ctx context.Context, rawURL string) error
}

// ValidateEndpoint calls ValidateEndpointFn.
func (c *EndpointChecker) ValidateEndpoint(ctx context.Context, rawURL string) error {
	return c.ValidateEndpointFn(ctx, rawURL)
}

// LeaseDelivery calls LeaseDeliveryFn.
func (s *SubscriptionService) LeaseDelivery(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error) {
	return s.LeaseDeliveryFn(ctx, holder, now, ttl)
}
