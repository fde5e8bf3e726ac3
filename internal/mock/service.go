// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"

	"portolan"
)

var (
	_ portolan.ObservationService = (*ObservationService)(nil)
	_ portolan.Store              = (*Store)(nil)
	_ portolan.Recognizer         = (*Recognizer)(nil)
)

// ObservationService is a mock of portolan.ObservationService.
type ObservationService struct {
	ImportObservationsFn func(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error)
	RebuildFn            func(ctx context.Context, progress func(replayed int)) error
}

// ImportObservations calls ImportObservationsFn.
func (s *ObservationService) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	return s.ImportObservationsFn(ctx, batch)
}

// Rebuild calls RebuildFn.
func (s *ObservationService) Rebuild(ctx context.Context, progress func(replayed int)) error {
	return s.RebuildFn(ctx, progress)
}

// Store is a mock of portolan.Store made of the service mocks, so a test
// configures only the services it exercises.
type Store struct {
	ObservationService
	HostPortService
	HostService
	SSLCertificateService
	CloseFn func() error
}

// Close calls CloseFn, and does nothing when it is not set (most tests do
// not care how a store is closed).
func (s *Store) Close() error {
	if s.CloseFn == nil {
		return nil
	}
	return s.CloseFn()
}

// Recognizer is a mock of portolan.Recognizer.
type Recognizer struct {
	RecognizeFn func(o *portolan.Observation) []portolan.Component
}

// Recognize calls RecognizeFn.
func (r *Recognizer) Recognize(o *portolan.Observation) []portolan.Component {
	return r.RecognizeFn(o)
}
