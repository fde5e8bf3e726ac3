// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"context"
	"time"
)

// ImportResult counts what one import did.
type ImportResult struct {
	// Observations is how many observations were offered.
	Observations int
	// Duplicates is how many of them were already stored (or repeated in
	// the batch) and changed nothing.
	Duplicates int
	// Created is how many hostPort records came into existence.
	Created int
	// Updated is how many existing hostPort records changed.
	Updated int
}

// Add accumulates r2 into r.
func (r *ImportResult) Add(r2 ImportResult) {
	r.Observations += r2.Observations
	r.Duplicates += r2.Duplicates
	r.Created += r2.Created
	r.Updated += r2.Updated
}

// ObservationService stores observations and keeps the records derived from
// them.
type ObservationService interface {
	// ImportObservations appends normalised observations to the log and
	// merges the new ones into the records, atomically: after a crash
	// either the whole batch is stored or none of it. Observations whose
	// identity is already stored are counted as duplicates and change
	// nothing. EINVALID when an observation is not normalised.
	ImportObservations(ctx context.Context, batch []*Observation) (ImportResult, error)

	// Rebuild recomputes every record from the observation log (after the
	// merge or fingerprint rules changed). progress, when not nil, is
	// called with the number of observations replayed so far.
	Rebuild(ctx context.Context, progress func(replayed int)) error
}

// Store is everything a storage backend provides.
type Store interface {
	ObservationService
	HostPortService
	HostService
	SSLCertificateService
	Close() error
}

// Recognizer turns what an observation carries (banner, certificate,
// scanner-named components) into the components it reveals. Stores call it
// when merging, so that a rebuild applies the current rules.
type Recognizer interface {
	// Recognize returns the components to merge for o, including those the
	// scanner named. It must be deterministic and must not modify o.
	Recognize(o *Observation) []Component
}

// ScannerComponents is the Recognizer that trusts only what the scanner named.
type ScannerComponents struct{}

// Recognize returns o.Components.
func (ScannerComponents) Recognize(o *Observation) []Component { return o.Components }

// ChangeTracker is implemented by stores that can tell cheaply whether their
// records may have changed, so that readers can cache what they derive.
type ChangeTracker interface {
	// Generation returns a number that changes whenever an import or a
	// rebuild may have changed the records. It may notice another
	// process's change with a short delay.
	Generation(ctx context.Context) (uint64, error)
}

// PruneOptions say which observations Pruner.Prune removes.
type PruneOptions struct {
	// Before: observations scanned before this instant go.
	Before time.Time
	// DryRun counts what would go and changes nothing.
	DryRun bool
	// Progress, when set, is called as records are rebuilt with the
	// number of observations replayed so far.
	Progress func(replayed int)
}

// PruneResult counts a prune's observations.
type PruneResult struct {
	Removed, Kept int
}

// Pruner is implemented by stores that can forget old observations, for
// retention policies: the observations scanned before a date leave the log
// and every record is recomputed from those that remain, in one
// transaction (a record whose every observation went is gone). Ingesting
// the removed observations again brings them back.
type Pruner interface {
	Prune(ctx context.Context, opts PruneOptions) (PruneResult, error)
}
