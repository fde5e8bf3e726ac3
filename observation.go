// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBannerBytes is the longest banner kept; longer ones are cut on a UTF-8
// boundary (intelligence.md §4).
const MaxBannerBytes = 16 << 10

// Observation is the unit of input: what one scanner saw on one port at one
// time (intelligence.md §1). Every ingester reduces its format to
// observations; the JSON names are those of the native NDJSON format.
type Observation struct {
	Host     string         `json:"host"`
	Port     int            `json:"port"`
	Protocol Protocol       `json:"protocol,omitempty"`
	Status   HostPortStatus `json:"status"`
	// SeenAt is when the port answered; it defaults to ScannedAt.
	SeenAt time.Time `json:"seenAt,omitzero"`
	// ScannedAt is when the scan of the port completed.
	ScannedAt    time.Time   `json:"scannedAt"`
	Source       string      `json:"source"`
	ScanProtocol string      `json:"scanProtocol,omitempty"`
	Banner       string      `json:"banner,omitempty"`
	Components   []Component `json:"components,omitempty"`
	// Certificate is the DER of the leaf certificate the service presented.
	Certificate []byte   `json:"certificate,omitempty"`
	Hostnames   []string `json:"hostnames,omitempty"`
}

// Component is a piece of software recognised behind a port. Version is the
// upstream version, empty when unknown.
type Component struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Category string `json:"category"`
}

// Less orders components by name, version, category.
func (c Component) Less(o Component) bool {
	if c.Name != o.Name {
		return c.Name < o.Name
	}
	if c.Version != o.Version {
		return c.Version < o.Version
	}
	return c.Category < o.Category
}

// linuxDistributions are the operating systems (OperatingSystemsIn names)
// that are Linux: next to one of them, a bare "Linux" says nothing more.
var linuxDistributions = map[string]bool{
	"Debian": true, "Ubuntu": true, "CentOS": true, "Red Hat": true, "Fedora": true,
	"Alpine": true, "SUSE": true, "openSUSE": true, "Raspbian": true, "Gentoo": true,
	"AlmaLinux": true, "Rocky Linux": true, "Amazon Linux": true, "Photon OS": true,
}

// IsLinuxDistribution reports whether name is an operating system that is
// Linux.
func IsLinuxDistribution(name string) bool { return linuxDistributions[name] }

// LinuxDistributions returns the names IsLinuxDistribution accepts, sorted:
// the stores' SQL restates RedundantBeside with them.
func LinuxDistributions() []string {
	names := make([]string, 0, len(linuxDistributions))
	for name := range linuxDistributions {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// RedundantBeside reports whether c says nothing that other, a component of
// the same port, does not say better (intelligence.md §5 as Portolan reads
// it: one product is one component): a versionless component beside a
// versioned one of the same product (name and category), and a generic
// Linux beside a Linux distribution. A port's components are its
// observations' union without the redundant ones, whichever observation
// named which: masscan's versionless "Redis" gives way to zgrab2's "Redis
// 7.0.15" as nmap's "Linux" gives way to a "+deb12u1" package's Debian.
// Removing them keeps merging order independent, because the component that
// makes another redundant is itself never removed without a third that
// makes both redundant.
func (c Component) RedundantBeside(other Component) bool {
	if c.Version == "" && other.Version != "" && c.Name == other.Name && c.Category == other.Category {
		return true
	}
	return c.Name == "Linux" && c.Category == CategoryOperatingSystem &&
		other.Category == CategoryOperatingSystem && linuxDistributions[other.Name]
}

// DropRedundant deletes from set, the components of one port, those that
// another of them makes redundant (RedundantBeside).
func DropRedundant[V any](set map[Component]V) {
	candidate := false
	for c := range set {
		candidate = candidate || c.Version == "" || c.Name == "Linux"
	}
	if !candidate {
		return // the common case: every component versioned, no Linux
	}
	var redundant []Component
	for c := range set {
		for other := range set {
			if c.RedundantBeside(other) {
				redundant = append(redundant, c)
				break
			}
		}
	}
	for _, c := range redundant {
		delete(set, c)
	}
}

// Normalize validates o and brings it to canonical form in place: the host
// and hostnames as NormalizeHost does, protocol defaulted to tcp, instants in
// UTC truncated to the second with SeenAt defaulted to ScannedAt, and the
// banner made valid UTF-8 and cut at MaxBannerBytes. The certificate is not
// parsed here (see ParseCertificate). The error is an EINVALID *Error whose
// message says what is wrong.
func (o *Observation) Normalize() error {
	host, err := NormalizeHost(o.Host)
	if err != nil {
		return err
	}
	o.Host = host
	if o.Port < 0 || o.Port > 65535 {
		return Errorf(EINVALID, "port %d is outside 0..65535", o.Port)
	}
	switch o.Protocol {
	case "":
		o.Protocol = TCP
	case TCP, UDP:
	default:
		return Errorf(EINVALID, "protocol %q is neither tcp nor udp", o.Protocol)
	}
	if !o.Status.Valid() {
		return Errorf(EINVALID, "status %q is not open, filtered or closed", o.Status)
	}
	if o.ScannedAt.IsZero() {
		return Errorf(EINVALID, "scannedAt is missing")
	}
	o.ScannedAt = o.ScannedAt.UTC().Truncate(time.Second)
	if o.SeenAt.IsZero() {
		o.SeenAt = o.ScannedAt
	} else {
		o.SeenAt = o.SeenAt.UTC().Truncate(time.Second)
	}
	if o.SeenAt.After(o.ScannedAt) {
		return Errorf(EINVALID, "seenAt %s is after scannedAt %s", o.SeenAt.Format(time.RFC3339), o.ScannedAt.Format(time.RFC3339))
	}
	if y := o.ScannedAt.Year(); y < 1970 || y > 9999 {
		return Errorf(EINVALID, "scannedAt %s is outside years 1970..9999", o.ScannedAt.Format(time.RFC3339))
	}
	o.Source = strings.TrimSpace(o.Source)
	if o.Source == "" {
		return Errorf(EINVALID, "source is missing")
	}
	o.ScanProtocol = strings.TrimSpace(o.ScanProtocol)
	o.Banner = CleanText(o.Banner, MaxBannerBytes)
	comps := o.Components[:0]
	for _, c := range o.Components {
		c.Name = strings.TrimSpace(CleanText(c.Name, 256))
		c.Version = strings.TrimSpace(CleanText(c.Version, 256))
		c.Category = strings.TrimSpace(CleanText(c.Category, 256))
		if c.Name == "" {
			return Errorf(EINVALID, "a component has no name")
		}
		if err := c.CheckID(); err != nil {
			return err
		}
		comps = append(comps, c)
	}
	o.Components = comps
	if len(o.Hostnames) > 0 {
		names := make([]string, 0, len(o.Hostnames))
		for _, n := range o.Hostnames {
			name, err := NormalizeHost(n)
			if err != nil {
				return Errorf(EINVALID, "hostname %q: %s", n, ErrorMessage(err))
			}
			// An address among the hostnames (nmap's user-given target) is not
			// an alias; a name equal to the host is not one either.
			if _, ipErr := netip.ParseAddr(name); ipErr == nil || name == o.Host {
				continue
			}
			names = append(names, name)
		}
		o.Hostnames = names
	}
	return nil
}

// NormalizeHost returns the canonical form of an address or DNS name: IPv6
// in RFC 5952 form, IPv4-mapped IPv6 as IPv4, names lower-cased without a
// trailing dot. Anything else is an EINVALID error.
func NormalizeHost(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EINVALID, "host is empty")
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		if addr.Zone() != "" {
			return "", Errorf(EINVALID, "address %q has a zone, which is only meaningful on the scanning machine", s)
		}
		return addr.Unmap().String(), nil
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	if err := checkHostname(name); err != nil {
		return "", Errorf(EINVALID, "host %q is neither an IP address nor a DNS name: %s", truncateForMessage(s), err)
	}
	return name, nil
}

// checkHostname accepts LDH labels (plus '_', which real PTR and SRV names
// use) of 1..63 bytes, 253 bytes in all, whose last label is not all digits
// (so that a malformed address is not taken for a name).
func checkHostname(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for i, label := range labels {
		if label == "" {
			return fmt.Errorf("empty label")
		}
		if len(label) > 63 {
			return fmt.Errorf("label longer than 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label starts or ends with '-'")
		}
		digits := true
		for j := 0; j < len(label); j++ {
			c := label[j]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c == '-', c == '_':
				digits = false
			default:
				// Name the character as sent: a byte of a multi-byte
				// UTF-8 sequence read as a rune would be another letter.
				if r, size := utf8.DecodeRuneInString(label[j:]); r != utf8.RuneError || size > 1 {
					return fmt.Errorf("character %q is not allowed", r)
				}
				return fmt.Errorf("byte 0x%02x is not allowed (not UTF-8)", c)
			}
		}
		if digits && i == len(labels)-1 {
			return fmt.Errorf("last label is all digits")
		}
	}
	return nil
}

func truncateForMessage(s string) string {
	s = CleanText(s, 80)
	return s
}

// CleanText makes s safe to store and serve: every byte that is not part of
// valid UTF-8, and NUL (which PostgreSQL text refuses), is written as \xNN,
// and the result is cut to at most max bytes on a UTF-8 boundary.
func CleanText(s string, max int) string {
	clean := len(s) <= max
	if clean {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf || s[i] == 0 {
				clean = false
				break
			}
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), max))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		if (r == utf8.RuneError && size == 1) || r == 0 {
			piece = fmt.Sprintf(`\x%02x`, s[i])
		} else {
			piece = s[i : i+size]
		}
		if b.Len()+len(piece) > max {
			break
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

// Identity is the digest of an observation's identity (intelligence.md §2):
// host, protocol, port, seenAt, scannedAt, source, scanProtocol and banner.
// Two observations with the same identity are the same observation; storing
// it again changes nothing. Call it on a normalised observation.
func (o *Observation) Identity() [16]byte {
	// The fields are hashed as one buffer, assembled on the stack when it
	// fits, rather than written to a hash.Hash one by one: the digest is
	// the same (SHA-256 of the same bytes), without the hash's and the
	// sum's allocations, twice for every observation of an import.
	var space [256]byte
	b := space[:0]
	appendField := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	appendField(o.Host)
	appendField(string(o.Protocol))
	b = binary.BigEndian.AppendUint64(b, uint64(o.Port))
	b = binary.BigEndian.AppendUint64(b, uint64(o.SeenAt.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(o.ScannedAt.Unix()))
	appendField(o.Source)
	appendField(o.ScanProtocol)
	var bannerSpace [1024]byte
	banner := sha256.Sum256(append(bannerSpace[:0], o.Banner...))
	b = append(b, banner[:]...)
	sum := sha256.Sum256(b)
	return [16]byte(sum[:16])
}

// CheckID returns an EINVALID error when a value of c would make its
// hostComponent id ambiguous. The id joins name, version and category with
// "$$" (Graph's documented form), so a value holding "$$", or beginning or
// ending with "$", could give two different components one id: name "a$"
// with version "b" and name "a" with version "$b" both join to "a$$$b".
// Such values are refused rather than escaped, so that every id keeps the
// form Graph clients decode.
func (c Component) CheckID() error {
	for _, part := range [...]struct{ what, value string }{{"name", c.Name}, {"version", c.Version}, {"category", c.Category}} {
		v := part.value
		if strings.Contains(v, "$$") || strings.HasPrefix(v, "$") || strings.HasSuffix(v, "$") {
			return Errorf(EINVALID, "component %s %q holds \"$$\" or begins or ends with \"$\": its id (name$$version$$category$$host) would be ambiguous", part.what, CleanText(v, 80))
		}
	}
	return nil
}
