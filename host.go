// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"context"
	"net/netip"
	"time"
)

// Host is Graph's abstract host: an ipAddress or a hostname. Zero times mean
// null (a host seen only closed or filtered has no first/last seen).
type Host struct {
	ID                string    `json:"id"`
	Kind              HostKind  `json:"kind"`
	FirstSeenDateTime time.Time `json:"firstSeenDateTime"`
	LastSeenDateTime  time.Time `json:"lastSeenDateTime"`

	// What address databases say about an ipAddress host; empty (null in
	// Graph) without one. They are not stored: serve adds them as it
	// reads a host (internal/mmdb), so a newer database needs no rebuild.
	CountryOrRegion  string            `json:"countryOrRegion,omitempty"`  // ISO 3166-1 alpha-2, "US"
	Netblock         string            `json:"netblock,omitempty"`         // the database's network holding the address, "192.0.2.0/24"
	AutonomousSystem *AutonomousSystem `json:"autonomousSystem,omitempty"` // the AS announcing it
	HostingProvider  string            `json:"hostingProvider,omitempty"`  // set only where the database marks the network as hosting
}

// AutonomousSystem is Graph's autonomousSystem of an ipAddress host.
type AutonomousSystem struct {
	Name         string `json:"name"`         // the AS name ("GOOGLE", IPinfo's as_name), else the organization
	Number       int    `json:"number"`       // the AS number
	Organization string `json:"organization"` // the organization holding it
	Value        string `json:"value"`        // the display form, "AS15169"
}

// HostKindOf tells whether a normalised host id is an address or a name.
func HostKindOf(id string) HostKind {
	if _, err := netip.ParseAddr(id); err == nil {
		return KindIPAddress
	}
	return KindHostname
}

// HostComponent is a component seen on a host, over all its ports.
type HostComponent struct {
	ID string `json:"id"`
	Component
	FirstSeenDateTime time.Time `json:"firstSeenDateTime"`
	LastSeenDateTime  time.Time `json:"lastSeenDateTime"`
	Host              string    `json:"host"`
}

// ListFilter selects a page of a list ordered by entity id.
type ListFilter struct {
	// AfterID, when not empty, starts the page after this id.
	AfterID string
	// Offset skips this many entities after AfterID.
	Offset int
	// Limit is the page size; 0 means no limit.
	Limit int
	// Count asks for the total (otherwise the returned total is -1).
	Count bool
}

// HostService reads hosts and what hangs off them.
type HostService interface {
	// FindHostByID returns a host by its normalised id. ENOTFOUND when the
	// host was never observed.
	FindHostByID(ctx context.Context, id string) (*Host, error)

	// FindHostComponents returns a page of a host's components ordered by
	// id. ENOTFOUND when the host was never observed.
	FindHostComponents(ctx context.Context, host string, filter ListFilter) ([]*HostComponent, int, error)

	// FindHostComponentByID returns one hostComponent. ENOTFOUND.
	FindHostComponentByID(ctx context.Context, id string) (*HostComponent, error)
}
