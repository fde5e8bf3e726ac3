// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"portolan"
)

// source is the Observation.Source of everything this package reads.
const source = "nmap"

// portResult is what one <port> became: an observation, or the InputError
// saying why it could not be used. at is where the port starts.
type portResult struct {
	obs *portolan.Observation
	err *portolan.InputError
	at  position
}

// reject turns a result into an InputError at the same place; used for ports
// whose finish time never came.
func (res portResult) reject(reason string) portResult {
	if res.obs != nil {
		reason = label(res.obs.Host, strconv.Itoa(res.obs.Port), string(res.obs.Protocol)) + ": " + reason
	}
	return portResult{err: inputError(res.at, reason), at: res.at}
}

// inputError rejects the record at at, and reading goes on.
func inputError(at position, reason string) *portolan.InputError {
	return &portolan.InputError{Source: source, Line: at.line, Offset: at.offset, Reason: reason}
}

// runTimes are the instants of an <nmaprun> that hosts fall back on
// (intelligence.md, "The instants of each format").
type runTimes struct {
	start         time.Time // <nmaprun start>; zero when absent
	startErr      error     // why start is unusable, when it is
	finished      time.Time // <runstats><finished time>
	finishedKnown bool      // finished was read, and is valid
}

// unixAttr reads an attribute holding Unix seconds. Absent is the zero time
// and no error; the error says which attribute is wrong and how.
func unixAttr(name, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("%s %s is not a number of Unix seconds", name, show(value))
	}
	return time.Unix(sec, 0).UTC(), nil
}

// hostPorts turns the ports of one decoded host into results one at a time,
// clearing each <port> as it goes: a host at the size limit is then held
// once, as the decoded XML, rather than again as all its observations at
// once (which took over ten times the limit).
type hostPorts struct {
	h       *nmapHost
	at      position   // where the host starts
	portAt  []position // where each of its ports starts, when known
	next    int        // the index of the next port to adapt
	host    string     // its address, "" when it has none
	names   []string   // its hostnames, shared by its observations
	seen    time.Time  // the instants of its observations
	scanned time.Time  //
	// hostReason, when set, rejects every port: a host-wide problem is
	// counted in ports, as any other rejection.
	hostReason string
	// refuse, when set, rejects every port that would have been an
	// observation (the ports that wait for <runstats> over its budget).
	refuse string
}

// newHostPorts prepares the ports of h for adaptation. waiting reports that
// their observations lack their ScannedAt, which only <runstats> will give.
func newHostPorts(h *nmapHost, run *runTimes, at position, portAt []position) (hp *hostPorts, waiting bool) {
	hp = &hostPorts{h: h, at: at, portAt: portAt}
	// nmap lists no port of a host that is down; if a file does, they
	// are not evidence about the host either.
	if h.Status.State == "down" || h.Status.State == "skipped" {
		hp.next = len(h.Ports)
		return hp, false
	}
	hp.host = hostAddress(h)
	var err error
	hp.seen, hp.scanned, err = hostTimes(h, run)
	switch {
	case hp.host == "":
		hp.hostReason = "the host has no ipv4 or ipv6 address"
	case err != nil:
		hp.hostReason = "times cannot be determined: " + err.Error()
	}
	hp.names = hostnames(h)
	return hp, hp.hostReason == "" && hp.scanned.IsZero() && len(h.Ports) > 0
}

// more reports whether a port is left.
func (hp *hostPorts) more() bool { return hp.next < len(hp.h.Ports) }

// adapt turns the next port into its result.
func (hp *hostPorts) adapt() portResult {
	i := hp.next
	hp.next++
	p := &hp.h.Ports[i]
	defer func() { *p = nmapPort{} }() // let its strings be collected
	// The guard saw the same <port> elements in the same order; if it did
	// not (it always does), the host's line is the next best place.
	where := hp.at
	if len(hp.portAt) == len(hp.h.Ports) {
		where = hp.portAt[i]
	}
	var o *portolan.Observation
	reason := hp.hostReason
	if reason == "" {
		o, reason = adaptPort(p, hp.host, hp.names)
	}
	if reason != "" {
		reason = label(hp.host, p.PortID, p.Protocol) + ": " + reason
		return portResult{err: inputError(where, reason), at: where}
	}
	o.SeenAt, o.ScannedAt = hp.seen, hp.scanned
	res := portResult{obs: o, at: where}
	if hp.refuse != "" {
		return res.reject(hp.refuse)
	}
	return res
}

// hostAddress is the first ipv4 or ipv6 address of the host; a mac address
// is not a host in Portolan's sense.
func hostAddress(h *nmapHost) string {
	for _, a := range h.Addresses {
		switch a.AddrType {
		case "ipv4", "ipv6", "": // the DTD's default is ipv4
			if a.Addr != "" {
				return a.Addr
			}
		}
	}
	return ""
}

// hostTimes gives a host's ports their instants: seenAt is <host starttime>,
// else <nmaprun start>, else left for the caller to default to scannedAt;
// scannedAt is <host endtime>, else <runstats><finished time>. A zero
// scannedAt with no error means that the finish time is not yet known.
func hostTimes(h *nmapHost, run *runTimes) (seen, scanned time.Time, err error) {
	if h.StartTime != "" {
		seen, err = unixAttr("host starttime", h.StartTime)
	} else {
		seen, err = run.start, run.startErr
	}
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if h.EndTime != "" {
		scanned, err = unixAttr("host endtime", h.EndTime)
	} else if run.finishedKnown {
		scanned = run.finished
	}
	return seen, scanned, err
}

// hostnames are every name nmap gave the host, user-given and PTR alike. The
// host's observations share the slice (capacity cut to its length, so that
// an append copies): a copy each would make memory grow with ports times
// names rather than with the size of the host.
func hostnames(h *nmapHost) []string {
	var names []string
	for _, n := range h.Hostnames {
		if n.Name != "" {
			names = append(names, n.Name)
		}
	}
	return names[:len(names):len(names)]
}

// adaptPort builds the observation of one port, without its instants, or
// says why the port cannot be used.
func adaptPort(p *nmapPort, host string, names []string) (*portolan.Observation, string) {
	var proto portolan.Protocol
	switch p.Protocol {
	case "tcp":
		proto = portolan.TCP
	case "udp":
		proto = portolan.UDP
	default:
		return nil, fmt.Sprintf("protocol %s is not supported (only tcp and udp)", show(p.Protocol))
	}
	port, err := strconv.Atoi(p.PortID)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Sprintf("portid %s is not a port number", show(p.PortID))
	}
	status, ok := portStatus(p.State.State)
	if !ok {
		return nil, fmt.Sprintf("state %s is not open, closed or filtered", show(p.State.State))
	}
	cert, err := certificate(p.Scripts)
	if err != nil {
		return nil, "ssl-cert pem: " + portolan.ErrorMessage(err)
	}
	return &portolan.Observation{
		Host:         host,
		Port:         port,
		Protocol:     proto,
		Status:       status,
		Source:       source,
		ScanProtocol: scanProtocol(p.Service, p.Scripts),
		Banner:       banner(p.Scripts, p.Service),
		Components:   components(p.Service),
		Certificate:  cert,
		Hostnames:    names,
	}, ""
}

// portStatus maps nmap's port states onto Portolan's three. The two
// ambiguous states mean nmap got no answer that tells more, which is what
// filtered says; unfiltered (ACK scan: reachable, open or closed unknown)
// says nothing Portolan can store.
func portStatus(state string) (portolan.HostPortStatus, bool) {
	switch state {
	case "open":
		return portolan.StatusOpen, true
	case "closed":
		return portolan.StatusClosed, true
	case "filtered", "open|filtered", "closed|filtered":
		return portolan.StatusFiltered, true
	}
	return "", false
}

// scanProtocol is nmap's service name, written as nmap itself prints it:
// "ssl/http" when it spoke TLS first. "unknown" is no answer at all. A
// name with a space is not a protocol's: nmap's mqtt-subscribe script puts
// the broker's version there ("mosquitto version 2.0.11"), and the banner
// keeps it.
func scanProtocol(s *nmapService, scripts []nmapScript) string {
	if s == nil || s.Name == "" || s.Name == "unknown" {
		return ""
	}
	if strings.ContainsAny(s.Name, " \t") {
		if script(scripts, "mqtt-subscribe") != nil {
			return "mqtt"
		}
		return ""
	}
	if s.Tunnel == "ssl" {
		return "ssl/" + s.Name
	}
	return s.Name
}

// banner is the service's own text: the banner script's output; else the
// response head http-headers printed; else, from http-server-header, a
// "Server:" line, so that the fingerprint rules over banners see the header;
// else what a service -sV could not name answered its probes
// (fingerprintBanner). It is kept raw: normalising banners is the merge
// engine's job.
func banner(scripts []nmapScript, service *nmapService) string {
	if s := script(scripts, "banner"); s != nil && s.Output != "" {
		return s.Output
	}
	if s := script(scripts, "http-headers"); s != nil && !scriptFailed(s) {
		if head := httpHead(s.Output); head != "" {
			return head
		}
	}
	if s := script(scripts, "http-server-header"); s != nil && !scriptFailed(s) {
		if v := serverHeader(s); v != "" {
			return "Server: " + v
		}
	}
	// mqtt-subscribe prints the broker's $SYS topics, which name its
	// software and version ("$SYS/broker/version: mosquitto version
	// 2.0.11"): what the broker itself publishes to a client.
	if s := script(scripts, "mqtt-subscribe"); s != nil && !scriptFailed(s) && strings.TrimSpace(s.Output) != "" {
		return s.Output
	}
	if service != nil {
		return fingerprintBanner(service.Fingerprint)
	}
	return ""
}

func script(scripts []nmapScript, id string) *nmapScript {
	for i := range scripts {
		if scripts[i].ID == id {
			return &scripts[i]
		}
	}
	return nil
}

// scriptFailed reports nmap's error output (stdnse.format_output(false, …)),
// which is nmap talking, not the service.
func scriptFailed(s *nmapScript) bool {
	return strings.HasPrefix(strings.TrimSpace(s.Output), "ERROR: ")
}

// httpHead recovers the response head from http-headers' output. nmap prints
// one header per line, indented by two spaces, then a blank line and
// "(Request type: HEAD)"; it does not print the status line.
func httpHead(output string) string {
	var lines []string
	for line := range strings.SplitSeq(strings.ReplaceAll(output, "\r\n", "\n"), "\n") {
		line = strings.TrimPrefix(line, "  ")
		if strings.HasPrefix(line, "(Request type: ") {
			break
		}
		lines = append(lines, line)
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\r\n")
}

// serverHeader is the Server header http-server-header found: its first
// structured value, else the first line of its output.
func serverHeader(s *nmapScript) string {
	for _, e := range s.Elems {
		if v := strings.TrimSpace(e.Value); e.Key == "" && v != "" {
			return v
		}
	}
	for line := range strings.SplitSeq(s.Output, "\n") {
		if v := strings.TrimSpace(line); v != "" {
			return v
		}
	}
	return ""
}

// certificate is the DER of the ssl-cert script's pem. It is not parsed here:
// the pipeline validates certificates and rejects a malformed one.
func certificate(scripts []nmapScript) ([]byte, error) {
	s := script(scripts, "ssl-cert")
	if s == nil {
		return nil, nil
	}
	for _, e := range s.Elems {
		if e.Key == "pem" && strings.TrimSpace(e.Value) != "" {
			return portolan.DecodeCertificate([]byte(e.Value))
		}
	}
	return nil, nil
}

// label names a port in an InputError's reason: "127.0.0.1 port 80/tcp".
func label(host, port, proto string) string {
	if host == "" {
		host = "host"
	}
	return show(host) + " port " + show(port) + "/" + show(proto)
}

// show renders a value from the file inside a message: as is when it is a
// short printable word, quoted otherwise, so that a hostile value cannot
// forge lines or flood the log.
func show(s string) string {
	c := portolan.CleanText(s, 64)
	if c == "" || len(c) < len(s) {
		return strconv.Quote(c)
	}
	for i := 0; i < len(c); i++ {
		if c[i] <= ' ' || c[i] > '~' || c[i] == '"' {
			return strconv.Quote(c)
		}
	}
	return c
}
