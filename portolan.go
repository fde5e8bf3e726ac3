// SPDX-License-Identifier: Apache-2.0

// Package portolan holds the domain of Portolan, a self-hosted port-intelligence
// service: the observations scanners make, the records they merge into (hostPort,
// banners, components, certificates, hosts), the store interfaces, and the
// error type. It imports only the standard library (enforced by deps_test.go);
// every technology lives in its own package under internal/ and cmd/portolan
// wires them together.
package portolan

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// HostPortStatus is the state of a port as the scanner reported it. The wire
// values are Graph's hostPortStatus member names.
type HostPortStatus string

// The statuses of a port. unknownFutureValue is never produced.
const (
	StatusOpen     HostPortStatus = "open"
	StatusFiltered HostPortStatus = "filtered"
	StatusClosed   HostPortStatus = "closed"
)

// Valid reports whether s is one of the three statuses a scanner reports.
// Which status a port takes is internal/merge's rule (merge.StatusWins).
func (s HostPortStatus) Valid() bool {
	return s == StatusOpen || s == StatusFiltered || s == StatusClosed
}

// Protocol is the transport protocol of a port (Graph's hostPortProtocol).
type Protocol string

// The transport protocols.
const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// HostKind tells the two concrete host types apart.
type HostKind string

// The kinds of host, named after their Graph types.
const (
	KindIPAddress HostKind = "ipAddress"
	KindHostname  HostKind = "hostname"
)

// HostPortID returns the id of the hostPort record of (host, protocol, port):
// standard base64 of "host$$port" for tcp and "host$$port$$udp" for udp, which
// reproduces the documented sample key ODUuMTMuMTM5LjE4JCQyMQ==.
func HostPortID(host string, protocol Protocol, port int) string {
	b := make([]byte, 0, len(host)+12)
	b = append(b, host...)
	b = append(b, "$$"...)
	b = strconv.AppendInt(b, int64(port), 10)
	if protocol == UDP {
		b = append(b, "$$udp"...)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// HostComponentID returns the id of a hostComponent: standard base64 of
// "name$$version$$category$$host", as the documented samples decode.
func HostComponentID(host string, c Component) string {
	return base64.StdEncoding.EncodeToString([]byte(c.Name + "$$" + c.Version + "$$" + c.Category + "$$" + host))
}

// SSLCertificateID returns the id of a certificate: standard base64 of its
// lowercase hex SHA-1.
func SSLCertificateID(sha1Hex string) string {
	return base64.StdEncoding.EncodeToString([]byte(sha1Hex))
}

// HostSSLCertificateID returns the id of a (host, certificate) pair: standard
// base64 of "host$$sha1".
func HostSSLCertificateID(host, sha1Hex string) string {
	return base64.StdEncoding.EncodeToString([]byte(host + "$$" + sha1Hex))
}

// Span is a first/last-seen window. The zero Span is empty.
type Span struct {
	First time.Time
	Last  time.Time
}

// IsZero reports whether the span has never been extended.
func (s Span) IsZero() bool { return s.First.IsZero() && s.Last.IsZero() }

// Extend widens the span to include t.
func (s *Span) Extend(t time.Time) {
	if s.First.IsZero() || t.Before(s.First) {
		s.First = t
	}
	if s.Last.IsZero() || t.After(s.Last) {
		s.Last = t
	}
}

// Union widens the span to include o.
func (s *Span) Union(o Span) {
	if o.IsZero() {
		return
	}
	s.Extend(o.First)
	s.Extend(o.Last)
}

// ParseHostPortID is the inverse of HostPortID. ok is false for anything but
// a canonical id, so that one record never answers to two ids.
func ParseHostPortID(id string) (host string, protocol Protocol, port int, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return "", "", 0, false
	}
	parts := strings.Split(string(raw), "$$")
	protocol = TCP
	switch {
	case len(parts) == 3 && parts[2] == "udp":
		protocol = UDP
	case len(parts) != 2:
		return "", "", 0, false
	}
	port, err = strconv.Atoi(parts[1])
	if err != nil || port < 0 || port > 65535 || HostPortID(parts[0], protocol, port) != id {
		return "", "", 0, false
	}
	return parts[0], protocol, port, true
}

// ParseSSLCertificateID is the inverse of SSLCertificateID.
func ParseSSLCertificateID(id string) (sha1Hex string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(raw) != 40 || SSLCertificateID(string(raw)) != id {
		return "", false
	}
	return string(raw), true
}

// ParseHostSSLCertificateID is the inverse of HostSSLCertificateID: the
// SHA-1 is the last 40 characters, after "$$".
func ParseHostSSLCertificateID(id string) (host, sha1Hex string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	s := string(raw)
	if err != nil || len(s) <= 42 || s[len(s)-42:len(s)-40] != "$$" || HostSSLCertificateID(s[:len(s)-42], s[len(s)-40:]) != id {
		return "", "", false
	}
	return s[:len(s)-42], s[len(s)-40:], true
}
