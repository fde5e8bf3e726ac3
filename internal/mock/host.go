// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"

	"portolan"
)

var _ portolan.HostService = (*HostService)(nil)

// HostService is a mock of portolan.HostService.
type HostService struct {
	FindHostByIDFn          func(ctx context.Context, id string) (*portolan.Host, error)
	FindHostComponentsFn    func(ctx context.Context, host string, filter portolan.ListFilter) ([]*portolan.HostComponent, int, error)
	FindHostComponentByIDFn func(ctx context.Context, id string) (*portolan.HostComponent, error)
}

// FindHostByID calls FindHostByIDFn.
func (s *HostService) FindHostByID(ctx context.Context, id string) (*portolan.Host, error) {
	return s.FindHostByIDFn(ctx, id)
}

// FindHostComponents calls FindHostComponentsFn.
func (s *HostService) FindHostComponents(ctx context.Context, host string, filter portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	return s.FindHostComponentsFn(ctx, host, filter)
}

// FindHostComponentByID calls FindHostComponentByIDFn.
func (s *HostService) FindHostComponentByID(ctx context.Context, id string) (*portolan.HostComponent, error) {
	return s.FindHostComponentByIDFn(ctx, id)
}
