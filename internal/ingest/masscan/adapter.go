// SPDX-License-Identifier: Apache-2.0

package masscan

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"portolan"
)

// record is one masscan record of any format, reduced to what the adapter
// needs: a status record (status set), a banner record (service set), or,
// in -oX, both at once.
type record struct {
	ip      string
	proto   string
	port    int
	ts      int64  // Unix seconds
	givenTs bool   // ts is Options.Time: the line had no time
	status  string // "open", "closed"; "" for a banner-only record
	service string // masscan's service name of a banner; "" for a status record
	banner  string // the banner text, unescaped
}

// portKey identifies one observation of the file.
type portKey struct {
	ip    string
	proto string
	port  int
}

// Banner ranks, best first; see the package documentation.
const (
	rankHTTP   = iota // "http": the response head
	rankText          // any other service's text
	rankServer        // "http.server": the Server header value alone
	rankTLS           // "ssl": masscan's TLS summary
	numRanks
)

// candidate is the best banner of one rank seen so far on a port.
type candidate struct {
	service string
	text    string
}

// portState accumulates the records of one port.
type portState struct {
	key         portKey
	first, last int64 // earliest and latest record, Unix seconds
	open        bool  // an open status record or any banner
	closed      bool
	other       string // an unrecognised status, kept for the caller to reject
	best        [numRanks]candidate
	cert        []byte
}

// aggregator holds the per-port state of the file, in the order the ports
// first appeared.
type aggregator struct {
	index map[portKey]int
	ports []portState
}

func newAggregator() aggregator {
	return aggregator{index: make(map[portKey]int)}
}

// ignoredServices are masscan "banners" that describe findings about a
// service rather than carry its answer.
var ignoredServices = map[string]bool{
	"X509CA": true, "title": true, "html": true, "vuln": true, "heartbleed": true,
	"ticketbleed": true, "safe": true, "error": true, "scripting": true, "versioning": true,
}

// add folds one record into the state of its port.
func (a *aggregator) add(rec *record) {
	k := portKey{ip: rec.ip, proto: rec.proto, port: rec.port}
	i, ok := a.index[k]
	if !ok {
		i = len(a.ports)
		a.index[k] = i
		a.ports = append(a.ports, portState{key: k, first: rec.ts, last: rec.ts})
	}
	st := &a.ports[i]
	st.first = min(st.first, rec.ts)
	st.last = max(st.last, rec.ts)
	switch rec.status {
	case "":
	case "open":
		st.open = true
	case "closed":
		st.closed = true
	default:
		if st.other == "" {
			st.other = rec.status
		}
	}
	if rec.service == "" {
		return
	}
	// Only a connected port sends a banner, so a banner implies open even
	// when its status record is missing (masscan -oL has none for it).
	st.open = true
	switch {
	case rec.service == "X509":
		if st.cert == nil && strings.TrimSpace(rec.banner) != "" {
			st.cert = decodeBase64Cert(rec.banner)
		}
	case ignoredServices[rec.service]:
	case rec.banner == "":
	case rec.service == "http":
		st.offer(rankHTTP, rec)
	case rec.service == "http.server":
		st.offer(rankServer, rec)
	case rec.service == "ssl":
		st.offer(rankTLS, rec)
	default:
		st.offer(rankText, rec)
	}
}

// offer keeps rec's banner if it beats the best of its rank: longer wins,
// then the one that sorts first, so the choice does not depend on order.
func (st *portState) offer(rank int, rec *record) {
	c := &st.best[rank]
	switch {
	case c.text == "",
		len(rec.banner) > len(c.text),
		len(rec.banner) == len(c.text) && (rec.service < c.service || rec.service == c.service && rec.banner < c.text):
		*c = candidate{service: rec.service, text: rec.banner}
	}
}

// observations turns the state into one observation per port.
func (a *aggregator) observations() []*portolan.Observation {
	out := make([]*portolan.Observation, 0, len(a.ports))
	for i := range a.ports {
		out = append(out, a.ports[i].observation())
	}
	return out
}

func (st *portState) observation() *portolan.Observation {
	o := &portolan.Observation{
		Host:        st.key.ip,
		Port:        st.key.port,
		Protocol:    portolan.Protocol(st.key.proto),
		SeenAt:      time.Unix(st.first, 0).UTC(),
		ScannedAt:   time.Unix(st.last, 0).UTC(),
		Source:      Source,
		Certificate: st.cert,
	}
	switch {
	case st.open:
		o.Status = portolan.StatusOpen
	case st.closed:
		o.Status = portolan.StatusClosed
	default:
		o.Status = portolan.HostPortStatus(st.other)
	}
	switch {
	case st.best[rankHTTP].text != "":
		o.Banner, o.ScanProtocol = st.best[rankHTTP].text, "http"
	case st.best[rankText].text != "":
		o.Banner, o.ScanProtocol = st.best[rankText].text, st.best[rankText].service
	case st.best[rankServer].text != "":
		// The header form lets the fingerprint rules for Server headers match.
		o.Banner, o.ScanProtocol = "Server: "+st.best[rankServer].text, "http"
	case st.best[rankTLS].text != "":
		o.Banner, o.ScanProtocol = st.best[rankTLS].text, "tls"
	}
	return o
}

// decodeBase64Cert returns the DER of masscan's base64 X509 banner. Text that
// is not base64 is returned as it is: the pipeline then rejects it as a
// malformed certificate, with a reason, and keeps the rest of the
// observation, which is better than dropping either silently.
func decodeBase64Cert(s string) []byte {
	s = strings.TrimSpace(s)
	if der, err := base64.StdEncoding.DecodeString(s); err == nil {
		return der
	}
	if der, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return der
	}
	return []byte(s)
}

// unescapeX undoes masscan's escaping in -oX and -oL, where every byte that
// is not printable ASCII, and each of < > & \ " ', is written \xNN. masscan
// escapes the backslash itself, so the mapping is exact.
func unescapeX(s string) string {
	i := strings.Index(s, `\x`)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		hi, ok1 := unhex(s, i+2)
		lo, ok2 := unhex(s, i+3)
		if ok1 && ok2 {
			b.WriteByte(hi<<4 | lo)
			s = s[i+4:]
		} else {
			b.WriteString(`\x`) // not an escape masscan wrote: keep it
			s = s[i+2:]
		}
		i = strings.Index(s, `\x`)
	}
	b.WriteString(s)
	return b.String()
}

func unhex(s string, i int) (byte, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// bytesFromLatin1 undoes masscan's escaping in -oJ and -oD, which writes each
// non-printable byte as \u00NN: after JSON decoding such a byte is the rune
// U+00NN, which is turned back into the byte. A UTF-8 "é" on the wire
// (C3 A9) thus comes back as "é", not as "Ã©". Runes above U+00FF cannot come
// from masscan and are kept.
func bytesFromLatin1(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r <= 0xFF {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseUnix parses masscan's timestamp, Unix seconds in decimal.
func parseUnix(s string) (int64, bool) {
	ts, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	// Normalize rejects years past 9999 with a reason; here only guard
	// against values time.Unix cannot represent meaningfully.
	if err != nil || ts < -(1<<40) || ts > 1<<40 {
		return 0, false
	}
	return ts, true
}

// parsePort parses a port number. The range is checked by Normalize, which
// says why; here it only has to be a number.
func parsePort(s string) (int, bool) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < -(1<<30) || p > 1<<30 {
		return 0, false
	}
	return p, true
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

func wrapReadError(err error, off int64) error {
	return fmt.Errorf("masscan: read at byte %d: %w", off, err)
}

// inputError returns the record error for the record at line and off.
func inputError(line int, off int64, format string, args ...any) *portolan.InputError {
	return &portolan.InputError{Source: Source, Line: line, Offset: off, Reason: fmt.Sprintf(format, args...)}
}
