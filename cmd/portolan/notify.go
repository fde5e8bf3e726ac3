// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/notify"
)

// notifyFlags are serve's settings of change notifications.
type notifyFlags struct {
	// allow are the private ranges webhooks may be in (--notify-allow).
	allow []netip.Prefix
	// retryWindow and backoffMax bound the retries of a failing receiver.
	retryWindow, backoffMax time.Duration
	// lease is the TTL of the lease of delivery among serve processes
	// sharing the store (--notify-lease).
	lease time.Duration
}

// startNotifications starts the dispatcher of change notifications over
// store and returns the endpoint checker of {root}/subscriptions and a
// function that stops the dispatcher and waits for it (before the store
// closes). A store without subscriptions serves none (nil checker).
func startNotifications(ctx context.Context, store portolan.Store, nf notifyFlags, logger *slog.Logger) (portolan.EndpointChecker, func()) {
	ns, ok := store.(notify.Store)
	if !ok {
		return nil, func() {}
	}
	guard := notify.NewGuard(nf.allow, nil)
	backoffMin := min(notify.DefaultBackoffMin, nf.backoffMax)
	d := notify.New(notify.Config{
		Store:       ns,
		Guard:       guard,
		ParseFilter: httpapi.ParseHostPortFilter,
		Logger:      logger,
		RetryWindow: nf.retryWindow,
		BackoffMin:  backoffMin,
		BackoffMax:  nf.backoffMax,
		LeaseTTL:    nf.lease,
	})
	nctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(nctx)
	}()
	return guard, func() {
		cancel()
		<-done
	}
}
