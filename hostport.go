// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"context"
	"time"
)

// HostPort is the record of one (host, protocol, port): Graph's
// microsoft.graph.security.hostPort. Zero times mean null.
type HostPort struct {
	ID                string         `json:"id"`
	Port              int            `json:"port"`
	FirstSeenDateTime time.Time      `json:"firstSeenDateTime"`
	LastSeenDateTime  time.Time      `json:"lastSeenDateTime"`
	LastScanDateTime  time.Time      `json:"lastScanDateTime"`
	TimesObserved     int            `json:"timesObserved"`
	Status            HostPortStatus `json:"status"`
	Protocol          Protocol       `json:"protocol"`
	// Banners and Services are newest first (intelligence.md §8).
	Banners  []HostPortBanner    `json:"banners"`
	Services []HostPortComponent `json:"services"`
	// MostRecentSSLCertificateID is the id of the navigation target, "" when
	// the port never presented a certificate.
	MostRecentSSLCertificateID string `json:"mostRecentSslCertificate"`
	// Host is the host id (the navigation target's key).
	Host string `json:"host"`
}

// HostPortBanner is one distinct banner a port answered with.
type HostPortBanner struct {
	Banner            string    `json:"banner"`
	FirstSeenDateTime time.Time `json:"firstSeenDateTime"`
	LastSeenDateTime  time.Time `json:"lastSeenDateTime"`
	ScanProtocol      string    `json:"scanProtocol"`
	TimesObserved     int       `json:"timesObserved"`
}

// HostPortComponent is one component seen on a port.
type HostPortComponent struct {
	FirstSeenDateTime time.Time `json:"firstSeenDateTime"`
	LastSeenDateTime  time.Time `json:"lastSeenDateTime"`
	// IsRecent is Defender TI's isRecent, computed by merge.IsRecent.
	IsRecent bool `json:"isRecent"`
	// ComponentID is the id of the hostComponent it stands for.
	ComponentID string    `json:"componentId"`
	Component   Component `json:"component"`
}

// HostPortKey is the keyset position of a hostPort in a host's port list,
// which is ordered by port, then protocol (tcp before udp), then host id
// (a hostname lists the ports of several addresses).
type HostPortKey struct {
	Port     int
	Protocol Protocol
	Host     string
}

// Less orders keys as the port list does (intelligence.md §8; the stores'
// SQL mirrors it, see internal/merge/order.go).
func (k HostPortKey) Less(o HostPortKey) bool {
	if k.Port != o.Port {
		return k.Port < o.Port
	}
	if k.Protocol != o.Protocol {
		return k.Protocol < o.Protocol // "tcp" < "udp"
	}
	return k.Host < o.Host
}

// Key returns the keyset position of p.
func (p *HostPort) Key() HostPortKey {
	return HostPortKey{Port: p.Port, Protocol: p.Protocol, Host: p.Host}
}

// HostPortFilter selects a page of a host's ports.
type HostPortFilter struct {
	// Host is the host id: an address, or a name whose aliases are included.
	Host string
	// After, when set, starts the page after this keyset position.
	After *HostPortKey
	// Offset skips this many records after After.
	Offset int
	// Limit is the page size; 0 means no limit.
	Limit int
	// Count asks for the total number of records of the host (ignoring
	// After, Offset and Limit); otherwise the returned total is -1.
	Count bool
}

// HostPortService reads hostPort records. Callers must not modify the
// records returned: a store may share them between calls (a cache).
type HostPortService interface {
	// FindHostPorts returns a page of the ports of a host and, when
	// filter.Count is set, their total number. ENOTFOUND when the host was
	// never observed.
	FindHostPorts(ctx context.Context, filter HostPortFilter) ([]*HostPort, int, error)

	// FindHostPortByID returns one record. ENOTFOUND when it does not exist.
	FindHostPortByID(ctx context.Context, id string) (*HostPort, error)
}
