// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"context"
	"strings"
	"time"
)

// This file holds the change record (search-and-changes.md §4–5): every
// import notes, in its own transaction, which items it changed and how, at a
// position in a total order that delta tokens (and a notification outbox)
// can follow without ever missing a committed change.

// ChangeKind is a set of kinds of change of one item in one transaction.
type ChangeKind uint16

// The kinds of change. A hostPort may change in several ways at once; hosts
// and certificates only come into being or widen their first and last
// seen (ChangeCreated, ChangeCounters).
const (
	// ChangeCreated: the item came into being (a hostPort's first open
	// observation).
	ChangeCreated ChangeKind = 1 << iota
	// ChangeStatus: a hostPort's status changed.
	ChangeStatus
	// ChangeBanners: a hostPort has a banner it did not have.
	ChangeBanners
	// ChangeServices: a hostPort has a component (name, version,
	// category) it did not have.
	ChangeServices
	// ChangeCertificate: a hostPort's mostRecentSslCertificate changed.
	ChangeCertificate
	// ChangeCounters: first or last seen, last scan, timesObserved or the
	// spans and counts of banners and services moved, and nothing above.
	// Delta queries carry such changes; notifications do not.
	ChangeCounters
	// ChangeRebuilt: portolan rebuild recomputed the item under the
	// current rules; what differs is not known.
	ChangeRebuilt
)

var changeKindNames = []string{"created", "status", "banners", "services", "certificate", "counters", "rebuilt"}

// Names returns the kinds in the words of a notification's changes member,
// in a fixed order. Counters is named only when nothing else is.
func (k ChangeKind) Names() []string {
	var out []string
	for i, name := range changeKindNames {
		bit := ChangeKind(1) << i
		if k&bit == 0 || (bit == ChangeCounters && k&^ChangeCounters != 0) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// String joins Names with commas.
func (k ChangeKind) String() string { return strings.Join(k.Names(), ",") }

// ChangeCollection names the collection of a changed item.
type ChangeCollection uint8

// The collections whose changes are recorded.
const (
	ChangedHostPorts ChangeCollection = iota + 1
	ChangedHosts
	ChangedSSLCertificates
)

// String is the collection's path under threatIntelligence.
func (c ChangeCollection) String() string {
	switch c {
	case ChangedHostPorts:
		return "hostPorts"
	case ChangedHosts:
		return "hosts"
	case ChangedSSLCertificates:
		return "sslCertificates"
	}
	return "unknown"
}

// Change is one entry of the change record: an item that one transaction
// changed.
type Change struct {
	Collection ChangeCollection
	// Position orders the record; the entries of one transaction share it.
	Position int64
	// ID is the item's id, as the API serves it.
	ID    string
	Kinds ChangeKind
}

// PortChange is an entry of the change record of one hostPort, with the
// instant a timeline marks it at.
type PortChange struct {
	// ID is the hostPort's id.
	ID       string
	Position int64
	Kinds    ChangeKind
	// At is the latest scannedAt of the port's observations in the import
	// that made the change: a mark on the scans' time axis, wherever the
	// import happened to run. For an entry recorded before the stores kept
	// that instant, it is when the import was recorded.
	At time.Time
}

// Watermark is where the change record stands for a reader.
type Watermark struct {
	// Position is the first position not yet visible: every change at a
	// smaller position is committed and visible now, and every change
	// still to come (including those of transactions running now) will
	// have a position at or after it.
	Position int64
	// Horizon is the oldest position the record still holds: changes
	// from Horizon on are complete; older ones were pruned (or preceded
	// the record).
	Horizon int64
}

// DeltaQuery asks for one page of the items changed in [Since, Until).
type DeltaQuery struct {
	// Filter is the checked $filter; changed items that do not match it
	// are returned as removed.
	Filter Expr
	// Since and Until bound the positions of the changes; Until is a
	// Watermark.Position taken when the round of pages began.
	Since, Until int64
	// After is the opaque position of the previous page's Next.
	After string
	// Top is the page size (at least 1).
	Top int
}

// DeltaEntry is one changed item: its current state, or Removed when it no
// longer matches the filter (Gone when it no longer exists at all).
type DeltaEntry[T any] struct {
	ID      string
	Item    T
	Removed bool
	Gone    bool
}

// DeltaPage is one page of changed items, each at most once per round.
type DeltaPage[T any] struct {
	Entries []DeltaEntry[T]
	// Next is the position after the last entry, "" on the last page.
	Next string
}

// ChangeService reads the change record.
type ChangeService interface {
	// ChangeWatermark returns the position a round of delta pages may
	// read up to, and the horizon of the record.
	ChangeWatermark(ctx context.Context) (Watermark, error)
	// HostPortChanges returns a page of the hostPorts changed in
	// [q.Since, q.Until), each item once (at its last change in the
	// range), in its current state. EINVALID for a filter the store
	// cannot answer or a malformed q.After.
	HostPortChanges(ctx context.Context, q DeltaQuery) (DeltaPage[*HostPort], error)
	// HostChanges is HostPortChanges for hosts.
	HostChanges(ctx context.Context, q DeltaQuery) (DeltaPage[*Host], error)
	// SSLCertificateChanges is HostPortChanges for certificates.
	SSLCertificateChanges(ctx context.Context, q DeltaQuery) (DeltaPage[*SSLCertificate], error)
	// Changes returns the entries of the record at positions in
	// [since, until), ordered by position, collection and id: what a
	// notification outbox follows, with the same watermark.
	Changes(ctx context.Context, since, until int64) ([]Change, error)
	// FindPortChanges returns the entries the record holds of the
	// hostPorts ids (the ports of a host page): the latest perPort of
	// each (all of them when perPort < 1), ordered by id, then position.
	// A rebuild's entries are left out: they mark no event of a port.
	FindPortChanges(ctx context.Context, ids []string, perPort int) ([]PortChange, error)
	// PruneChanges forgets the transactions recorded before the instant
	// before and moves the horizon past them; delta tokens older than the
	// horizon are then refused (EGONE).
	PruneChanges(ctx context.Context, before time.Time) (Watermark, error)
}
