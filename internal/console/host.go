// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"portolan"
)

type hostPage struct {
	page
	Host *portolan.Host
	// Ports are the rows of the ports table shown: one page of
	// portsPerPage when the host has more (the timeline shows them all).
	Ports      []hostPortRow
	TotalPorts int
	PortPages  []portPage
	Components []*portolan.HostComponent
	Certs      []hostCertRow
	Timeline   *timeline
}

// hostCertRow is a certificate of the host with links to the rows of the
// ports it was seen on.
type hostCertRow struct {
	*portolan.HostSSLCertificate
	Links []certPortLink
}

// certPortLink is a port a certificate was seen on; URL is its row in the
// ports table, "" when the host has no record of that port.
type certPortLink struct {
	Port int
	URL  string
}

// portsPerPage bounds the rows of the ports table: a host of a thousand
// ports gets ten pages of a table (and one timeline of all its lanes), so
// that its page stays quick to load.
const portsPerPage = 100

// portPage is a link to a page of the ports table.
type portPage struct {
	Label, URL string
	Current    bool
}

// hostPortRow is a port of the host with its certificate.
type hostPortRow struct {
	*portolan.HostPort
	Anchor string
	Cert   *portolan.SSLCertificate
}

// portAnchor is the id of a port's row on the page of host pageHost, which
// its timeline lane and other pages link to: short, since a host of a
// thousand ports links to every row, and naming the address only on a
// hostname's page, which lists the ports of several addresses.
func portAnchor(hp *portolan.HostPort, pageHost string) string {
	if hp.Host == pageHost {
		return fmt.Sprintf("p%d-%s", hp.Port, hp.Protocol)
	}
	return fmt.Sprintf("p%d-%s-%s", hp.Port, hp.Protocol, anchorSafe(hp.Host))
}

// ownAnchor is the anchor of a port's row on its own host's page.
func ownAnchor(hp *portolan.HostPort) string { return portAnchor(hp, hp.Host) }

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
	// The id as the API reads a host key: an address in its canonical
	// form, a name in lower case (::1 for 0:0::1, localhost for LOCALHOST).
	id, err := portolan.NormalizeHost(r.PathValue("id"))
	if err != nil {
		return portolan.Errorf(portolan.ENOTFOUND, "There is no host %q: it is neither an IP address nor a DNS name.", clip(r.PathValue("id"), 100))
	}
	ctx := r.Context()
	host, err := c.cfg.Hosts.FindHostByID(ctx, id)
	if err != nil {
		return err
	}
	ports, _, err := c.cfg.HostPorts.FindHostPorts(ctx, portolan.HostPortFilter{Host: host.ID})
	if err != nil {
		return err
	}
	// The certificates, the components and the change record's marks are
	// independent reads: in parallel, a host of a thousand ports waits for
	// the slowest rather than for their sum.
	var (
		certs                     []*portolan.HostSSLCertificate
		comps                     []*portolan.HostComponent
		record                    *changeMarks
		wg                        sync.WaitGroup
		certErr, compErr, markErr error
	)
	wg.Go(func() {
		certs, _, certErr = c.cfg.Certificates.FindHostSSLCertificates(ctx, host.ID, portolan.ListFilter{})
	})
	wg.Go(func() { comps, _, compErr = c.cfg.Hosts.FindHostComponents(ctx, host.ID, portolan.ListFilter{}) })
	if c.cfg.Changes != nil && len(ports) > 0 {
		wg.Go(func() { record, markErr = c.portChanges(ctx, ports) })
	}
	wg.Wait()
	if err := errors.Join(certErr, compErr, markErr); err != nil {
		return err
	}
	byID := map[string]*portolan.SSLCertificate{}
	for _, hc := range certs {
		if hc.SSLCertificate != nil {
			byID[hc.SSLCertificate.ID] = hc.SSLCertificate
		}
	}
	p := &hostPage{page: c.pageFor(r, host.ID), Host: host, Components: comps, TotalPorts: len(ports)}
	pageNo, _ := strconv.Atoi(r.URL.Query().Get("ports"))
	pages := (len(ports) + portsPerPage - 1) / portsPerPage
	// rowURL is the address of the table row of ports[i], on its page of
	// the table.
	rowURL := func(i int) string {
		if pages > 1 {
			return fmt.Sprintf("?ports=%d#%s", i/portsPerPage, portAnchor(ports[i], host.ID))
		}
		return "#" + portAnchor(ports[i], host.ID)
	}
	// A certificate names the ports it was seen on by number: TLS is over
	// TCP, so that port's row is the one linked when both exist.
	type hostPortNo struct {
		host string
		port int
	}
	rowOf := map[hostPortNo]int{}
	for i, hp := range ports {
		k := hostPortNo{hp.Host, hp.Port}
		if _, ok := rowOf[k]; !ok || hp.Protocol == portolan.TCP {
			rowOf[k] = i
		}
	}
	p.Certs = make([]hostCertRow, len(certs))
	for i, hc := range certs {
		p.Certs[i] = hostCertRow{HostSSLCertificate: hc}
		for _, cp := range hc.Ports {
			link := certPortLink{Port: cp.Port}
			if j, ok := rowOf[hostPortNo{hc.Host, cp.Port}]; ok {
				link.URL = rowURL(j)
			}
			p.Certs[i].Links = append(p.Certs[i].Links, link)
		}
	}
	pageNo = max(0, min(pageNo, pages-1))
	if pages > 1 {
		for i := 0; i < pages; i++ {
			p.PortPages = append(p.PortPages, portPage{Label: fmt.Sprintf("%d–%d", ports[i*portsPerPage].Port, ports[min(len(ports), (i+1)*portsPerPage)-1].Port),
				URL: fmt.Sprintf("%s?ports=%d#ports-h", hostURL(host.ID), i), Current: i == pageNo})
		}
	}
	shown := ports
	if pages > 1 {
		shown = ports[pageNo*portsPerPage : min(len(ports), (pageNo+1)*portsPerPage)]
	}
	p.Ports = make([]hostPortRow, len(shown))
	for i, hp := range shown {
		p.Ports[i] = hostPortRow{HostPort: hp, Anchor: portAnchor(hp, host.ID), Cert: byID[hp.MostRecentSSLCertificateID]}
	}
	p.Timeline = buildTimeline(ports, certs, record, rowURL)
	c.render(w, r, http.StatusOK, "host", p)
	return nil
}

// The timeline is an inline SVG drawn on the server: one lane per port from
// its first to its last sighting, a dashed tail to the last scan when the
// port was since seen closed or filtered, and marks. With a change record
// (Config.Changes), the marks are its entries for the port, each at the scan
// that made it: status changes (and the first open sighting), new banners,
// new components, certificate rotations, and scans that changed nothing
// else. Without one, they are where each banner, component and certificate
// was first seen, from the records alone. It needs no script, scales to the
// page's width through its viewBox, and its height grows with the ports (the
// page scrolls it in a box past a few dozen lanes).
const (
	// tallTimeline is the number of lanes past which the timeline is
	// drawn compactly (compact) in a scrolling box.
	tallTimeline = 30
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
	// Tall marks a timeline that the page shows in a scrolling box, drawn
	// with Paths rather than an element per line and mark.
	Tall     bool
	Paths    []svgPath
	From, To time.Time
	// FromRecord says the marks come from the change record, which keeps
	// the imports of Retention (0: all of them); PerLane is how many of a
	// port's latest changes its lane marks, and Capped that some port had
	// more.
	FromRecord bool
	Retention  time.Duration
	PerLane    int
	Capped     bool
}

// Kept is the change record's retention in words.
func (tl *timeline) Kept() string { return ago(tl.Retention) }

// markKinds are the kinds of mark in the order they are drawn, later ones
// on top. Marks of one instant share their place, so their shapes nest
// rather than hide each other: a status change is a bar across the lane,
// under a certificate's wide disc, a banner's smaller one and a component's
// smallest (mark.R); a scan, alone at its instant, is a thin tick.
var markKinds = []string{"status", "scan", "certificate", "banner", "component"}

// R is the radius of a mark drawn as a disc.
func (m mark) R() float64 {
	switch m.Kind {
	case "certificate":
		return 6
	case "component":
		return 2.5
	}
	return 4
}

// changeMarks are the change record's entries of a host's ports.
type changeMarks struct {
	byID      map[string][]portolan.PortChange
	perLane   int
	capped    bool
	retention time.Duration
}

// marksPerLane bounds the marks of a lane: a port's latest 50 changes on a
// host of a few ports, and about 5,000 marks in all on a larger one (at
// least 5 a lane), so that a host of a thousand ports, every one of them
// scanned daily for the record's 30 days, still draws in one quick page.
func marksPerLane(lanes int) int {
	return max(5, min(50, 5000/max(1, lanes)))
}

// portChanges reads the latest changes of ports from the change record:
// one more than a lane marks, to tell whether it was capped.
func (c *Console) portChanges(ctx context.Context, ports []*portolan.HostPort) (*changeMarks, error) {
	ids := make([]string, len(ports))
	for i, hp := range ports {
		ids[i] = hp.ID
	}
	m := &changeMarks{byID: map[string][]portolan.PortChange{}, perLane: marksPerLane(len(ports)), retention: c.cfg.ChangeRetention}
	changes, err := c.cfg.Changes.FindPortChanges(ctx, ids, m.perLane+1)
	if err != nil {
		return nil, err
	}
	for _, ch := range changes {
		m.byID[ch.ID] = append(m.byID[ch.ID], ch)
	}
	for id, chs := range m.byID {
		if len(chs) > m.perLane {
			m.byID[id], m.capped = chs[len(chs)-m.perLane:], true
		}
	}
	return m, nil
}

// changeMarkKinds are the marks of one entry of the change record: one per
// kind of change, and a scan when nothing but counters moved (every entry
// is a scan, but one that changed something shows what it changed).
func changeMarkKinds(k portolan.ChangeKind) []string {
	var out []string
	if k&(portolan.ChangeCreated|portolan.ChangeStatus) != 0 {
		out = append(out, "status")
	}
	if k&portolan.ChangeBanners != 0 {
		out = append(out, "banner")
	}
	if k&portolan.ChangeServices != 0 {
		out = append(out, "component")
	}
	if k&portolan.ChangeCertificate != 0 {
		out = append(out, "certificate")
	}
	if len(out) == 0 && k&portolan.ChangeCounters != 0 {
		out = append(out, "scan")
	}
	return out
}

// changeMarkTitle is the tooltip of a mark of an entry.
func changeMarkTitle(kind string, k portolan.ChangeKind, at time.Time) string {
	var what string
	switch kind {
	case "status":
		what = "status changed"
		if k&portolan.ChangeCreated != 0 {
			return "first seen open " + fmtTime(at)
		}
	case "banner":
		what = "new banner"
	case "component":
		what = "new component"
	case "certificate":
		what = "certificate changed"
	default:
		what = "scanned, nothing else changed"
	}
	return what + " (scan of " + fmtTime(at) + ")"
}

// svgPath is the path of every line or mark of one kind (its CSS class).
type svgPath struct {
	Class, D string
}

type tick struct {
	X     float64
	Label string
	// Anchor is the label's text-anchor: the outer labels align inwards
	// so that they are not cut at the edges.
	Anchor string
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

// mark is an event on a lane; Kind is its CSS class (one of markKinds)
// and Title what the tooltip says.
type mark struct {
	X     float64
	Kind  string
	Title string
	at    time.Time
}

// buildTimeline draws the lanes of ports, with the marks of record when the
// store keeps a change record (nil: the marks of the records' first
// sightings); rowURL(i) is the address of the table row of ports[i].
func buildTimeline(ports []*portolan.HostPort, certs []*portolan.HostSSLCertificate, record *changeMarks, rowURL func(int) string) *timeline {
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
	if record != nil {
		// An entry recorded before the stores kept its scan's instant is
		// at its import's, which may lie past the last scan.
		for _, chs := range record.byID {
			for _, ch := range chs {
				widen(ch.At)
			}
		}
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
				Title: name + " first seen " + fmtTime(cp.FirstSeenDateTime), at: cp.FirstSeenDateTime})
		}
	}
	tl := &timeline{Width: tlWidth, From: from, To: to, Tall: len(ports) > tallTimeline}
	if record != nil {
		tl.FromRecord, tl.Retention, tl.PerLane, tl.Capped = true, record.retention, record.perLane, record.capped
	}
	tl.Height = tlTop + len(ports)*tlLaneHeight + 8
	for i := 0; i <= 4; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		tl.Ticks = append(tl.Ticks, tick{X: x(t), Label: t.UTC().Format("2006-01-02 15:04"), Anchor: anchor})
	}
	for i, hp := range ports {
		y := float64(tlTop + i*tlLaneHeight)
		l := lane{Y: y, MidY: y + tlLaneHeight/2, Label: fmt.Sprintf("%d/%s", hp.Port, hp.Protocol), Href: rowURL(i),
			Status: string(hp.Status), X1: x(hp.FirstSeenDateTime), X2: x(hp.LastSeenDateTime), Scan: x(hp.LastScanDateTime)}
		if l.X2-l.X1 < 2 {
			l.X2 = l.X1 + 2 // a single sighting is still visible
		}
		l.Tail = hp.LastScanDateTime.After(hp.LastSeenDateTime)
		// Tooltips only where they are drawn: a tall timeline has none.
		tooltip := func(f func() string) string {
			if tl.Tall {
				return ""
			}
			return f()
		}
		l.Title = tooltip(func() string {
			return fmt.Sprintf("%s on %s: %s, first seen %s, last seen %s, last scan %s, observed %d times",
				l.Label, hp.Host, hp.Status, fmtTime(hp.FirstSeenDateTime), fmtTime(hp.LastSeenDateTime), fmtTime(hp.LastScanDateTime), hp.TimesObserved)
		})
		// The first sightings of the port's banners, components and
		// certificates, from its record: all of them without a change
		// record; with one, those up to the import of its oldest entry
		// there (the import that created the port records only that it
		// was created, whatever its scans showed, and older imports may
		// have been pruned), the record's own entries marking the rest.
		var sightings []mark
		for _, b := range hp.Banners {
			sightings = append(sightings, mark{X: x(b.FirstSeenDateTime), Kind: "banner", at: b.FirstSeenDateTime, Title: tooltip(func() string {
				return "banner (" + b.ScanProtocol + ") first seen " + fmtTime(b.FirstSeenDateTime) + ": " + clip(firstLine(b.Banner), 80)
			})})
		}
		for _, s := range hp.Services {
			sightings = append(sightings, mark{X: x(s.FirstSeenDateTime), Kind: "component", at: s.FirstSeenDateTime, Title: tooltip(func() string {
				return strings.TrimSpace(s.Component.Name+" "+s.Component.Version) + " first seen " + fmtTime(s.FirstSeenDateTime)
			})})
		}
		sightings = append(sightings, rotations[certPort{hp.Port, hp.Host}]...)
		if record == nil {
			l.Marks = sightings
		} else {
			var oldest time.Time
			for _, ch := range record.byID[hp.ID] {
				if ch.At.IsZero() {
					continue
				}
				if oldest.IsZero() || ch.At.Before(oldest) {
					oldest = ch.At
				}
				at := ch.At
				if ch.Kinds&portolan.ChangeCreated != 0 && !hp.FirstSeenDateTime.IsZero() {
					// The import that created the port may hold several
					// of its scans: its first open sighting is the
					// record's first seen, not the import's last scan.
					at = hp.FirstSeenDateTime
				}
				for _, kind := range changeMarkKinds(ch.Kinds) {
					l.Marks = append(l.Marks, mark{X: x(at), Kind: kind, at: at, Title: tooltip(func() string { return changeMarkTitle(kind, ch.Kinds, at) })})
				}
			}
			for _, m := range sightings {
				if oldest.IsZero() || !m.at.After(oldest) {
					l.Marks = append(l.Marks, m)
				}
			}
		}
		// By instant, and at one instant in the order of markKinds, so
		// that the shapes nest.
		sort.SliceStable(l.Marks, func(a, b int) bool {
			if l.Marks[a].X != l.Marks[b].X {
				return l.Marks[a].X < l.Marks[b].X
			}
			return slices.Index(markKinds, l.Marks[a].Kind) < slices.Index(markKinds, l.Marks[b].Kind)
		})
		tl.Lanes = append(tl.Lanes, l)
	}
	if tl.Tall {
		tl.compact()
	}
	return tl
}

// compact redraws a tall timeline with one SVG path per kind of line and
// mark instead of an element per mark (a host of a thousand ports would
// otherwise need some ten thousand elements, and its page would take
// seconds to load): each lane keeps its label and its link to the table's
// row, which holds the details that the tooltips of a short timeline give.
func (tl *timeline) compact() {
	// One path per class: span, tail, then the marks in markKinds' order.
	paths := make([][]byte, 2+len(markKinds))
	num := func(b []byte, v float64, prec int) []byte { return strconv.AppendFloat(b, v, 'f', prec, 64) }
	for i := range tl.Lanes {
		l := &tl.Lanes[i]
		y := num(nil, l.MidY, 0)
		line := func(b []byte, from, to float64) []byte {
			b = append(num(append(b, 'M'), from, 1), ' ')
			return num(append(append(b, y...), 'H'), to, 1)
		}
		paths[0] = line(paths[0], l.X1, l.X2)
		if l.Tail {
			paths[1] = line(paths[1], l.X2, l.Scan)
		}
		// Marks that would fall on the same tenth of a pixel are drawn
		// once: they come sorted by position, so a lane remembers the
		// last of each kind.
		var last [8]float64
		for k := range last {
			last[k] = -1
		}
		for _, m := range l.Marks {
			k := slices.Index(markKinds, m.Kind)
			x := math.Round(m.X*10) / 10
			if k < 0 || last[k] == x {
				continue
			}
			last[k] = x
			// A mark is a round-capped stroke of almost no length (a
			// scan, a short vertical one), so that one path holds every
			// mark of its kind.
			b := append(num(append(paths[2+k], 'M'), x, 1), ' ')
			switch m.Kind {
			case "status":
				b = append(num(b, l.MidY-6, 0), "v12"...)
			case "scan":
				b = append(num(b, l.MidY-4, 0), "v8"...)
			default:
				b = append(append(b, y...), "v.1"...)
			}
			paths[2+k] = b
		}
		l.Marks = nil
	}
	classes := []string{"span", "tail"}
	for _, k := range markKinds {
		classes = append(classes, "mark "+k)
	}
	for i, class := range classes {
		if len(paths[i]) > 0 {
			tl.Paths = append(tl.Paths, svgPath{Class: class, D: string(paths[i])})
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
