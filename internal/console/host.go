// SPDX-License-Identifier: Apache-2.0

package console

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"portolan"
)

type hostPage struct {
	page
	Host       *portolan.Host
	Ports      []hostPortRow
	Components []*portolan.HostComponent
	Certs      []*portolan.HostSSLCertificate
	Timeline   *timeline
}

// hostPortRow is a port of the host with its certificate.
type hostPortRow struct {
	*portolan.HostPort
	Anchor string
	Cert   *portolan.SSLCertificate
}

// portAnchor is the id of a port's row, which its timeline lane links to.
func portAnchor(hp *portolan.HostPort) string {
	return fmt.Sprintf("port-%d-%s-%s", hp.Port, hp.Protocol, anchorSafe(hp.Host))
}

// anchorSafe keeps letters, digits and dashes: an id attribute built from a
// host id (an IPv6 address's colons) stays a plain fragment.
func anchorSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

func (c *Console) serveHost(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ctx := r.Context()
	host, err := c.cfg.Hosts.FindHostByID(ctx, id)
	if err != nil {
		return err
	}
	ports, _, err := c.cfg.HostPorts.FindHostPorts(ctx, portolan.HostPortFilter{Host: host.ID})
	if err != nil {
		return err
	}
	certs, _, err := c.cfg.Certificates.FindHostSSLCertificates(ctx, host.ID, portolan.ListFilter{})
	if err != nil {
		return err
	}
	comps, _, err := c.cfg.Hosts.FindHostComponents(ctx, host.ID, portolan.ListFilter{})
	if err != nil {
		return err
	}
	byID := map[string]*portolan.SSLCertificate{}
	for _, hc := range certs {
		if hc.SSLCertificate != nil {
			byID[hc.SSLCertificate.ID] = hc.SSLCertificate
		}
	}
	p := &hostPage{page: c.pageFor(r, host.ID), Host: host, Components: comps, Certs: certs}
	p.Ports = make([]hostPortRow, len(ports))
	for i, hp := range ports {
		p.Ports[i] = hostPortRow{HostPort: hp, Anchor: portAnchor(hp), Cert: byID[hp.MostRecentSSLCertificateID]}
	}
	p.Timeline = buildTimeline(ports, certs)
	c.render(w, r, http.StatusOK, "host", p)
	return nil
}

// The timeline is an inline SVG drawn on the server: one lane per port from
// its first to its last sighting, a dashed tail to the last scan when the
// port was since seen closed or filtered, and marks where a banner, a
// component or a certificate first appeared. It needs no script, scales to
// the page's width through its viewBox, and its height grows with the ports
// (the page scrolls it in a box past a few dozen lanes).
const (
	tlWidth      = 960
	tlLabelWidth = 150
	tlRight      = 16
	tlLaneHeight = 18
	tlTop        = 28
)

type timeline struct {
	Width, Height int
	Ticks         []tick
	Lanes         []lane
	// Tall marks a timeline that the page shows in a scrolling box.
	Tall     bool
	From, To time.Time
}

type tick struct {
	X     float64
	Label string
}

type lane struct {
	Y, MidY      float64
	Label, Href  string
	Status       string
	X1, X2, Scan float64
	// Tail is set when the last scan is after the last sighting.
	Tail  bool
	Marks []mark
	Title string
}

// mark is an event on a lane; Kind is its CSS class (banner, component,
// certificate) and Title what the tooltip says.
type mark struct {
	X     float64
	Kind  string
	Title string
}

func buildTimeline(ports []*portolan.HostPort, certs []*portolan.HostSSLCertificate) *timeline {
	if len(ports) == 0 {
		return nil
	}
	var from, to time.Time
	widen := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if from.IsZero() || t.Before(from) {
			from = t
		}
		if to.IsZero() || t.After(to) {
			to = t
		}
	}
	for _, hp := range ports {
		widen(hp.FirstSeenDateTime)
		widen(hp.LastSeenDateTime)
		widen(hp.LastScanDateTime)
	}
	if !to.After(from) {
		// One instant: give it an hour either side so it sits mid-lane.
		from, to = from.Add(-time.Hour), to.Add(time.Hour)
	}
	plot := float64(tlWidth - tlLabelWidth - tlRight)
	x := func(t time.Time) float64 {
		if t.IsZero() {
			return tlLabelWidth
		}
		return tlLabelWidth + plot*float64(t.Sub(from))/float64(to.Sub(from))
	}
	// Where each certificate was first seen on each port: its rotations.
	type certPort struct {
		port int
		host string
	}
	rotations := map[certPort][]mark{}
	for _, hc := range certs {
		name := "certificate"
		if hc.SSLCertificate != nil && hc.SSLCertificate.Subject.CommonName != "" {
			name = "certificate " + hc.SSLCertificate.Subject.CommonName
		}
		for _, cp := range hc.Ports {
			k := certPort{cp.Port, hc.Host}
			rotations[k] = append(rotations[k], mark{X: x(cp.FirstSeenDateTime), Kind: "certificate",
				Title: name + " first seen " + fmtTime(cp.FirstSeenDateTime)})
		}
	}
	tl := &timeline{Width: tlWidth, From: from, To: to, Tall: len(ports) > 30}
	tl.Height = tlTop + len(ports)*tlLaneHeight + 8
	for i := 0; i <= 4; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		tl.Ticks = append(tl.Ticks, tick{X: x(t), Label: t.UTC().Format("2006-01-02 15:04")})
	}
	for i, hp := range ports {
		y := float64(tlTop + i*tlLaneHeight)
		l := lane{Y: y, MidY: y + tlLaneHeight/2, Label: fmt.Sprintf("%d/%s", hp.Port, hp.Protocol), Href: "#" + portAnchor(hp),
			Status: string(hp.Status), X1: x(hp.FirstSeenDateTime), X2: x(hp.LastSeenDateTime), Scan: x(hp.LastScanDateTime)}
		if l.X2-l.X1 < 2 {
			l.X2 = l.X1 + 2 // a single sighting is still visible
		}
		l.Tail = hp.LastScanDateTime.After(hp.LastSeenDateTime)
		l.Title = fmt.Sprintf("%s on %s: %s, first seen %s, last seen %s, last scan %s, observed %d times",
			l.Label, hp.Host, hp.Status, fmtTime(hp.FirstSeenDateTime), fmtTime(hp.LastSeenDateTime), fmtTime(hp.LastScanDateTime), hp.TimesObserved)
		for _, b := range hp.Banners {
			l.Marks = append(l.Marks, mark{X: x(b.FirstSeenDateTime), Kind: "banner",
				Title: "banner (" + b.ScanProtocol + ") first seen " + fmtTime(b.FirstSeenDateTime) + ": " + clip(firstLine(b.Banner), 80)})
		}
		for _, s := range hp.Services {
			l.Marks = append(l.Marks, mark{X: x(s.FirstSeenDateTime), Kind: "component",
				Title: strings.TrimSpace(s.Component.Name+" "+s.Component.Version) + " first seen " + fmtTime(s.FirstSeenDateTime)})
		}
		l.Marks = append(l.Marks, rotations[certPort{hp.Port, hp.Host}]...)
		sort.SliceStable(l.Marks, func(a, b int) bool { return l.Marks[a].X < l.Marks[b].X })
		tl.Lanes = append(tl.Lanes, l)
	}
	return tl
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
