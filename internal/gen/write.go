// SPDX-License-Identifier: Apache-2.0

package gen

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"portolan"
)

// Output formats.
const (
	// FormatNative is Portolan's native NDJSON, one observation per line.
	FormatNative = "native"
	// FormatNmap is nmap's XML output (-oX) of a version scan with the
	// banner and ssl-cert scripts.
	FormatNmap = "nmap"
)

// Formats lists the output formats.
var Formats = []string{FormatNative, FormatNmap}

// Stats counts what a Writer wrote.
type Stats struct {
	HostScans    int
	Observations int
	Open         int
	Banners      int
	Certificates int
	Bytes        int64
}

// Writer writes host scans in one output format.
type Writer interface {
	// WriteScan writes one host scan.
	WriteScan(*HostScan) error
	// Close writes what ends the output and flushes it; it does not close
	// the underlying writer.
	Close() error
	// Stats counts what was written so far.
	Stats() Stats
}

// NewWriter returns a Writer of format to w. cfg gives the nmap format its
// header (the scan's start and the generator's parameters).
func NewWriter(w io.Writer, format string, cfg Config) (Writer, error) {
	cfg = cfg.withDefaults()
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	switch format {
	case FormatNative:
		return &nativeWriter{bw: bw, cw: cw, enc: json.NewEncoder(bw)}, nil
	case FormatNmap:
		return newNmapWriter(bw, cw, cfg), nil
	}
	return nil, fmt.Errorf("gen: unknown format %q (known: %s)", format, strings.Join(Formats, ", "))
}

// WriteAll writes every host scan of g to w in format.
func WriteAll(w io.Writer, g *Generator, format string) (Stats, error) {
	out, err := NewWriter(w, format, g.cfg)
	if err != nil {
		return Stats{}, err
	}
	for hs := g.NextScan(); hs != nil; hs = g.NextScan() {
		if err := out.WriteScan(hs); err != nil {
			return out.Stats(), err
		}
	}
	err = out.Close()
	return out.Stats(), err
}

// countingWriter counts the bytes that reached w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// count adds a host scan to s.
func (s *Stats) count(hs *HostScan) {
	s.HostScans++
	for _, p := range hs.Ports {
		o := p.Observation
		s.Observations++
		if o.Status == portolan.StatusOpen {
			s.Open++
		}
		if o.Banner != "" {
			s.Banners++
		}
		if len(o.Certificate) > 0 {
			s.Certificates++
		}
	}
}

// nativeWriter writes NDJSON with encoding/json: the Observation's own tags
// are the native format's field names, and a certificate becomes base64 DER.
type nativeWriter struct {
	bw    *bufio.Writer
	cw    *countingWriter
	enc   *json.Encoder
	stats Stats
}

func (w *nativeWriter) WriteScan(hs *HostScan) error {
	for _, p := range hs.Ports {
		if err := w.enc.Encode(p.Observation); err != nil {
			return err
		}
	}
	w.stats.count(hs)
	return nil
}

func (w *nativeWriter) Close() error { return w.bw.Flush() }

func (w *nativeWriter) Stats() Stats {
	s := w.stats
	s.Bytes = w.cw.n + int64(w.bw.Buffered())
	return s
}

// nmapWriter writes what nmap -sV -Pn --script banner,ssl-cert -oX writes:
// one <host> per host scan, with its own starttime and endtime, so that a
// file of many rescans is one valid <nmaprun>.
type nmapWriter struct {
	bw    *bufio.Writer
	cw    *countingWriter
	stats Stats
	start time.Time
	last  time.Time
	err   error
}

// nmapVersion is the nmap release the output imitates.
const nmapVersion = "7.94"

func newNmapWriter(bw *bufio.Writer, cw *countingWriter, cfg Config) *nmapWriter {
	w := &nmapWriter{bw: bw, cw: cw, start: cfg.Start, last: cfg.Start}
	fixed := ""
	if cfg.PortsPerHost > 0 {
		fixed = fmt.Sprintf(" --ports-per-host %d", cfg.PortsPerHost)
	}
	args := fmt.Sprintf("nmap -sV -Pn --script banner,ssl-cert -oX - (portolan-bench gen --seed %d --hosts %d --rescans %d%s)", cfg.Seed, cfg.Hosts, cfg.Rescans, fixed)
	w.printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n<?xml-stylesheet href=\"file:///usr/bin/../share/nmap/nmap.xsl\" type=\"text/xsl\"?>\n")
	// nmap writes "--" as "-&#45;", which a comment may not contain.
	args = strings.ReplaceAll(escape(args), "--", "-&#45;")
	w.printf("<!-- Nmap %s scan initiated %s as: %s -->\n", nmapVersion, cfg.Start.UTC().Format(time.ANSIC), args)
	w.printf("<nmaprun scanner=\"nmap\" args=\"%s\" start=\"%d\" startstr=\"%s\" version=\"%s\" xmloutputversion=\"1.05\">\n",
		args, cfg.Start.Unix(), cfg.Start.UTC().Format(time.ANSIC), nmapVersion)
	w.printf("<scaninfo type=\"syn\" protocol=\"tcp\" numservices=\"1000\" services=\"1-1000\"/>\n<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n")
	return w
}

func (w *nmapWriter) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.bw, format, args...)
	}
}

func (w *nmapWriter) str(s string) {
	if w.err == nil {
		_, w.err = w.bw.WriteString(s)
	}
}

// escape makes s safe inside an attribute value or element text. It
// escapes \r, \n and \t as character references, as nmap does: a literal
// line break in an attribute would be read back as a space.
func escape(s string) string {
	if !strings.ContainsAny(s, "<>&'\"\r\n\t") && isPrintableASCII(s) {
		return s
	}
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (w *nmapWriter) WriteScan(hs *HostScan) error {
	addrType := "ipv4"
	if strings.Contains(hs.Addr, ":") {
		addrType = "ipv6"
	}
	w.printf("<host starttime=\"%d\" endtime=\"%d\"><status state=\"up\" reason=\"user-set\" reason_ttl=\"0\"/>\n", hs.Start.Unix(), hs.End.Unix())
	w.printf("<address addr=\"%s\" addrtype=\"%s\"/>\n<hostnames>\n", hs.Addr, addrType)
	for _, n := range hs.Hostnames {
		w.printf("<hostname name=\"%s\" type=\"PTR\"/>\n", escape(n))
	}
	w.str("</hostnames>\n<ports>")
	for _, p := range hs.Ports {
		w.port(&p)
	}
	w.printf("</ports>\n<times srtt=\"%d\" rttvar=\"%d\" to=\"100000\"/>\n</host>\n", 20000+hs.Start.Unix()%9000, 3000+hs.Start.Unix()%2000)
	if hs.End.After(w.last) {
		w.last = hs.End
	}
	w.stats.count(hs)
	return w.err
}

// stateReasons are the <state reason> nmap gives for each state of a SYN scan.
var stateReasons = map[portolan.HostPortStatus]string{
	portolan.StatusOpen: "syn-ack", portolan.StatusClosed: "reset", portolan.StatusFiltered: "no-response",
}

// port writes one <port>. Ports that are not open carry no <service>, so
// that the nmap and native outputs of one seed say the same thing.
func (w *nmapWriter) port(p *PortScan) {
	o := p.Observation
	reason := stateReasons[o.Status]
	ttl := 52
	if o.Status == portolan.StatusFiltered {
		ttl = 0
	}
	w.printf("<port protocol=\"%s\" portid=\"%d\"><state state=\"%s\" reason=\"%s\" reason_ttl=\"%d\"/>", o.Protocol, o.Port, o.Status, reason, ttl)
	if s := p.Service; s != nil {
		w.printf("<service name=\"%s\"", escape(s.Name))
		for _, a := range [][2]string{{"product", s.Product}, {"version", s.Version}, {"extrainfo", s.ExtraInfo}, {"ostype", s.OSType}} {
			if a[1] != "" {
				w.printf(" %s=\"%s\"", a[0], escape(a[1]))
			}
		}
		if s.TLS {
			w.str(` tunnel="ssl"`)
		}
		w.str(` method="probed" conf="10"/>`)
	}
	if o.Banner != "" {
		w.printf("<script id=\"banner\" output=\"%s\"/>", escape(o.Banner))
	}
	if p.Service != nil && p.Service.cert != nil {
		w.sslCert(p.Service.cert)
	}
	w.str("</port>\n")
}

// sslCert writes the ssl-cert script's output: the text nmap prints and the
// structured elements, of which the reader uses the pem.
func (w *nmapWriter) sslCert(c *certificate) {
	const stamp = "2006-01-02T15:04:05"
	names := make([]string, len(c.dnsNames))
	for i, n := range c.dnsNames {
		names[i] = "DNS:" + n
	}
	out := fmt.Sprintf("Subject: %s\nSubject Alternative Name: %s\nIssuer: %s\nPublic Key type: ed25519\nPublic Key bits: 256\nSignature Algorithm: ED25519\nNot valid before: %s\nNot valid after:  %s\nSHA-1: %s",
		nameLine(c.subject.CommonName, c.subject.Organization, c.subject.Country), strings.Join(names, ", "),
		nameLine(c.issuer.CommonName, c.issuer.Organization, c.issuer.Country),
		c.notBefore.UTC().Format(stamp), c.notAfter.UTC().Format(stamp), c.sha1)
	w.printf("<script id=\"ssl-cert\" output=\"%s\">", escape(out))
	w.nameTable("subject", c.subject.CommonName, c.subject.Organization, c.subject.Country)
	w.nameTable("issuer", c.issuer.CommonName, c.issuer.Organization, c.issuer.Country)
	w.printf("<table key=\"pubkey\">\n<elem key=\"type\">ed25519</elem>\n<elem key=\"bits\">256</elem>\n</table>\n<elem key=\"sig_algo\">ED25519</elem>\n")
	w.printf("<table key=\"validity\">\n<elem key=\"notBefore\">%s</elem>\n<elem key=\"notAfter\">%s</elem>\n</table>\n",
		c.notBefore.UTC().Format(stamp), c.notAfter.UTC().Format(stamp))
	w.printf("<elem key=\"sha1\">%s</elem>\n<elem key=\"pem\">%s</elem>\n</script>",
		c.sha1, escape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.der}))))
}

func nameLine(cn string, org, country []string) string {
	s := "commonName=" + cn
	if len(org) > 0 {
		s += "/organizationName=" + org[0]
	}
	if len(country) > 0 {
		s += "/countryName=" + country[0]
	}
	return s
}

func (w *nmapWriter) nameTable(key, cn string, org, country []string) {
	w.printf("<table key=\"%s\">\n<elem key=\"commonName\">%s</elem>\n", key, escape(cn))
	if len(country) > 0 {
		w.printf("<elem key=\"countryName\">%s</elem>\n", escape(country[0]))
	}
	if len(org) > 0 {
		w.printf("<elem key=\"organizationName\">%s</elem>\n", escape(org[0]))
	}
	w.str("</table>\n")
}

func (w *nmapWriter) Close() error {
	elapsed := w.last.Sub(w.start).Seconds()
	w.printf("<runstats><finished time=\"%d\" timestr=\"%s\" summary=\"Nmap done at %s; %d IP addresses (%d hosts up) scanned in %s seconds\" elapsed=\"%s\" exit=\"success\"/><hosts up=\"%d\" down=\"0\" total=\"%d\"/>\n</runstats>\n</nmaprun>\n",
		w.last.Unix(), w.last.UTC().Format(time.ANSIC), w.last.UTC().Format(time.ANSIC), w.stats.HostScans, w.stats.HostScans,
		strconv.FormatFloat(elapsed, 'f', 2, 64), strconv.FormatFloat(elapsed, 'f', 2, 64), w.stats.HostScans, w.stats.HostScans)
	if w.err != nil {
		return w.err
	}
	return w.bw.Flush()
}

func (w *nmapWriter) Stats() Stats {
	s := w.stats
	s.Bytes = w.cw.n + int64(w.bw.Buffered())
	return s
}
