// SPDX-License-Identifier: Apache-2.0

// Package mock provides func-field mocks of the portolan interfaces for
// tests: each method calls the field of the same name plus "Fn", so a test
// sets exactly the behaviour it needs and a call it did not expect panics
// with a nil function, which fails the test loudly.
package mock

import (
	"context"

	"portolan"
)

var _ portolan.HostPortService = (*HostPortService)(nil)

// HostPortService is a mock of portolan.HostPortService.
type HostPortService struct {
	FindHostPortsFn    func(ctx context.Context, filter portolan.HostPortFilter) ([]*portolan.HostPort, int, error)
	FindHostPortByIDFn func(ctx context.Context, id string) (*portolan.HostPort, error)
}

// FindHostPorts calls FindHostPortsFn.
func (s *HostPortService) FindHostPorts(ctx context.Context, filter portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	return s.FindHostPortsFn(ctx, filter)
}

// FindHostPortByID calls FindHostPortByIDFn.
func (s *HostPortService) FindHostPortByID(ctx context.Context, id string) (*portolan.HostPort, error) {
	return s.FindHostPortByIDFn(ctx, id)
}
