// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"portolan"
	"portolan/internal/spell"
)

// routeKind names one endpoint of graph-api.md Part A.
type routeKind int

// The endpoints. Comments give the path below {root}/security/threatIntelligence.
const (
	routeMetadata           routeKind = iota + 1 // {root}/$metadata
	routeHost                                    // hosts/{id}
	routeHostPorts                               // hosts/{id}/ports
	routeHostPortsCount                          // hosts/{id}/ports/$count
	routeHostHostPort                            // hosts/{id}/ports/{hostPortId}
	routeHostComponents                          // hosts/{id}/components
	routeHostSSLCerts                            // hosts/{id}/sslCertificates
	routeHostPort                                // hostPorts/{id}
	routeHostPortHost                            // hostPorts/{id}/host
	routeHostPortCert                            // hostPorts/{id}/mostRecentSslCertificate
	routeHostComponent                           // hostComponents/{id}
	routeHostSSLCert                             // hostSslCertificates/{id}
	routeSSLCerts                                // sslCertificates (with $search)
	routeSSLCert                                 // sslCertificates/{id}
	routeRelatedHosts                            // sslCertificates/{id}/relatedHosts
	routeHostPortsAll                            // hostPorts (search-and-changes.md §1)
	routeHostPortsAllCount                       // hostPorts/$count
	routeHostsAll                                // hosts
	routeHostsAllCount                           // hosts/$count
	routeSSLCertsCount                           // sslCertificates/$count
	routeComponentsAll                           // hostComponents
	routeComponentsAllCount                      // hostComponents/$count
	routeHostCertsAll                            // hostSslCertificates
	routeHostCertsAllCount                       // hostSslCertificates/$count
	routeHostPortsDelta                          // hostPorts/delta (search-and-changes.md §4)
	routeHostsDelta                              // hosts/delta
	routeSSLCertsDelta                           // sslCertificates/delta
	routeSubscriptions                           // {root}/subscriptions (search-and-changes.md §5)
	routeSubscription                            // {root}/subscriptions/{id}
)

// route is a parsed request path.
type route struct {
	kind routeKind
	// root is the service root ("beta" or "v1.0"), for absolute URLs.
	root string
	// key is the decoded key of the entity set, key2 that of the
	// navigation (hosts/{key}/ports/{key2}).
	key, key2 string
}

// segment is one step of a path: a name, or a key (from a key segment or
// from parentheses).
type segment struct {
	text string
	// paren is true when the key came from parentheses: such a key can only
	// stand where a key is expected.
	paren bool
}

// parseRoute splits an escaped request path into a route. The path is split
// on the raw '/' before each segment is percent-decoded, so that a base64 id
// containing '/' (sent as %2F) stays one segment. Keys may be given as
// segments (hosts/8.8.8.8) or in parentheses (hosts('8.8.8.8')). Names match
// case-insensitively, as on Graph. An unknown path is ENOTFOUND, a malformed
// one EINVALID.
func parseRoute(escapedPath string) (route, error) {
	var rt route
	rest, ok := "", false
	for _, root := range serviceRoots {
		if rest, ok = strings.CutPrefix(escapedPath, "/"+root+"/"); ok {
			rt.root = root
			break
		}
	}
	if !ok {
		return rt, notFound(escapedPath)
	}
	rest = strings.TrimSuffix(rest, "/") // a trailing slash names the same resource
	if rest == "" {
		return rt, notFound(escapedPath)
	}
	raw := strings.Split(rest, "/")
	if len(raw) > 8 { // nothing served is deeper; do not decode junk
		return rt, notFound(escapedPath)
	}
	segs := make([]segment, 0, len(raw)+2)
	for _, r := range raw {
		s, err := url.PathUnescape(r)
		if err != nil {
			return rt, portolan.Errorf(portolan.EINVALID, "The path segment '%s' is not correctly percent-encoded.", clipText(r))
		}
		if s == "" {
			return rt, notFound(escapedPath)
		}
		name, key, isParen, err := splitKey(s)
		if err != nil {
			return rt, err
		}
		segs = append(segs, segment{text: name})
		if isParen {
			segs = append(segs, segment{text: key, paren: true})
		}
	}
	if len(segs) == 1 && segs[0].text == "$metadata" && !segs[0].paren {
		rt.kind = routeMetadata
		return rt, nil
	}
	if isName(segs[0], "subscriptions") {
		switch {
		case len(segs) == 1:
			rt.kind = routeSubscriptions
		case len(segs) == 2:
			rt.kind, rt.key = routeSubscription, segs[1].text
		default:
			return rt, notFoundSegment(segs[2].text)
		}
		return rt, nil
	}
	switch {
	case !isName(segs[0], "security"):
		return rt, notFoundSegment(segs[0].text, "security")
	case len(segs) < 2 || !isName(segs[1], "threatIntelligence"):
		return rt, notFound(escapedPath)
	case len(segs) < 3:
		return rt, notFound(escapedPath)
	}
	segs = segs[2:]
	set := segs[0]
	switch {
	case isName(set, "hosts"):
		if len(segs) == 1 {
			rt.kind = routeHostsAll
			break
		}
		if len(segs) == 2 && isName(segs[1], "$count") {
			rt.kind = routeHostsAllCount
			break
		}
		// The delta function wins over a host named delta, which
		// hosts('delta') still reaches.
		if len(segs) == 2 && isName(segs[1], "delta") {
			rt.kind = routeHostsDelta
			break
		}
		rt.key = segs[1].text
		switch {
		case len(segs) == 2:
			rt.kind = routeHost
		case len(segs) == 3 && isName(segs[2], "ports"):
			rt.kind = routeHostPorts
		case len(segs) == 4 && isName(segs[2], "ports") && isName(segs[3], "$count"):
			rt.kind = routeHostPortsCount
		case len(segs) == 4 && isName(segs[2], "ports"):
			rt.kind, rt.key2 = routeHostHostPort, segs[3].text
		case len(segs) == 3 && isName(segs[2], "components"):
			rt.kind = routeHostComponents
		case len(segs) == 3 && isName(segs[2], "sslCertificates"):
			rt.kind = routeHostSSLCerts
		}
	case isName(set, "hostPorts"):
		if len(segs) == 1 {
			rt.kind = routeHostPortsAll
			break
		}
		if len(segs) == 2 && isName(segs[1], "$count") {
			rt.kind = routeHostPortsAllCount
			break
		}
		if len(segs) == 2 && isName(segs[1], "delta") {
			rt.kind = routeHostPortsDelta
			break
		}
		rt.key = segs[1].text
		switch {
		case len(segs) == 2:
			rt.kind = routeHostPort
		case len(segs) == 3 && isName(segs[2], "host"):
			rt.kind = routeHostPortHost
		case len(segs) == 3 && isName(segs[2], "mostRecentSslCertificate"):
			rt.kind = routeHostPortCert
		}
	case isName(set, "hostComponents"):
		switch {
		case len(segs) == 1:
			rt.kind = routeComponentsAll
		case len(segs) == 2 && isName(segs[1], "$count"):
			rt.kind = routeComponentsAllCount
		case len(segs) == 2:
			rt.kind, rt.key = routeHostComponent, segs[1].text
		}
	case isName(set, "hostSslCertificates"):
		switch {
		case len(segs) == 1:
			rt.kind = routeHostCertsAll
		case len(segs) == 2 && isName(segs[1], "$count"):
			rt.kind = routeHostCertsAllCount
		case len(segs) == 2:
			rt.kind, rt.key = routeHostSSLCert, segs[1].text
		}
	case isName(set, "sslCertificates"):
		switch {
		case len(segs) == 1:
			rt.kind = routeSSLCerts
		case len(segs) == 2 && isName(segs[1], "$count"):
			rt.kind = routeSSLCertsCount
		case len(segs) == 2 && isName(segs[1], "delta"):
			rt.kind = routeSSLCertsDelta
		case len(segs) == 2:
			rt.kind, rt.key = routeSSLCert, segs[1].text
		case len(segs) == 3 && isName(segs[2], "relatedHosts"):
			rt.kind, rt.key = routeRelatedHosts, segs[1].text
		}
	}
	if rt.kind == 0 {
		return rt, unknownSegment(segs)
	}
	if (rt.kind == routeSSLCert || rt.kind == routeRelatedHosts) && isHexSHA1(rt.key) {
		// No id is 40 hex digits (an id is 56 characters of base64), and
		// the hex SHA-1 is what openssl and browsers show: say what to send.
		return rt, portolan.Errorf(portolan.ENOTFOUND, "Resource not found for the segment '%s'. Certificate ids are the base64 of the hex SHA-1, here '%s'.",
			clipText(rt.key), portolan.SSLCertificateID(strings.ToLower(rt.key)))
	}
	// A parenthesised key must stand where a key is expected; a name (ports,
	// host, ...) must never come from parentheses.
	for i, sg := range segs {
		keyPos := i == 1 || (rt.kind == routeHostHostPort && i == 3)
		if sg.paren && !keyPos {
			return rt, notFound(escapedPath)
		}
	}
	return rt, nil
}

// splitKey splits a decoded segment "name(key)" into its name and key. The
// key may be quoted ('8.8.8.8', with ” for a quote, OData's string literal)
// or bare, and may be named (id='x'). A segment without parentheses is
// returned whole. Parentheses are looked for after decoding: no key Portolan
// serves (addresses, names, standard base64) contains them.
func splitKey(s string) (name, key string, paren bool, err error) {
	open := strings.IndexByte(s, '(')
	if open < 0 && strings.IndexByte(s, ')') < 0 {
		return s, "", false, nil
	}
	if open <= 0 || s[len(s)-1] != ')' || strings.Count(s[:open], ")") > 0 {
		// No key Portolan serves contains parentheses, so a segment with
		// them is a key in parentheses gone wrong, not a name.
		return "", "", false, portolan.Errorf(portolan.EINVALID, "The segment '%s' is malformed: a key in parentheses is written name('key').", clipText(s))
	}
	name, key = s[:open], s[open+1:len(s)-1]
	if k, ok := strings.CutPrefix(key, "id="); ok {
		key = k
	}
	if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
		inner := key[1 : len(key)-1]
		// Inside the literal every quote must be doubled.
		if strings.Count(inner, "''")*2 != strings.Count(inner, "'") {
			return "", "", false, portolan.Errorf(portolan.EINVALID, "The key literal %s is malformed: quotes inside it must be doubled.", clipText(key))
		}
		key = strings.ReplaceAll(inner, "''", "'")
	} else if strings.ContainsAny(key, "'()") {
		return "", "", false, portolan.Errorf(portolan.EINVALID, "The key literal %s is malformed.", clipText(key))
	}
	if key == "" {
		return "", "", false, portolan.Errorf(portolan.EINVALID, "The key of '%s' is empty.", clipText(name))
	}
	return name, key, true, nil
}

func isName(s segment, name string) bool { return !s.paren && strings.EqualFold(s.text, name) }

func notFound(path string) error {
	return notFoundSegment(lastSegment(path))
}

// notFoundSegment is Graph's 404 for the segment that failed, with the
// name probably meant when it is a near miss of one (host for hosts).
func notFoundSegment(seg string, names ...string) error {
	msg := fmt.Sprintf("Resource not found for the segment '%s'.", clipText(seg))
	if n, ok := spell.Closest(seg, names); ok {
		msg += fmt.Sprintf(" Did you mean '%s'?", n)
	}
	return portolan.Errorf(portolan.ENOTFOUND, "%s", msg)
}

// entitySets are the collections under security/threatIntelligence, and
// navigations the segments each key may be followed by.
var (
	entitySets  = []string{"hosts", "hostPorts", "hostComponents", "hostSslCertificates", "sslCertificates"}
	navigations = map[string][]string{
		"hosts":           {"ports", "components", "sslCertificates"},
		"hostPorts":       {"host", "mostRecentSslCertificate"},
		"sslCertificates": {"relatedHosts"},
	}
)

// unknownSegment is the 404 of a path under threatIntelligence that names
// no route: it names the first segment that is not understood, not the
// last one (threatIntelligence/host/8.8.8.8 fails at 'host').
func unknownSegment(segs []segment) error {
	set := ""
	for _, n := range entitySets {
		if isName(segs[0], n) {
			set = n
		}
	}
	if set == "" {
		return notFoundSegment(segs[0].text, entitySets...)
	}
	// segs[1] is a key; segs[2] a navigation; hosts/{id}/ports/{key} may
	// go one further.
	i := min(2, len(segs)-1)
	if i == 2 && slices.ContainsFunc(navigations[set], func(n string) bool { return isName(segs[2], n) }) && len(segs) > 3 {
		i = len(segs) - 1
	}
	return notFoundSegment(segs[i].text, navigations[set]...)
}

// isHexSHA1 reports whether s is a SHA-1 in hex, as openssl prints it.
func isHexSHA1(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func lastSegment(path string) string {
	path = strings.TrimSuffix(path, "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// clipText keeps client-supplied text in messages short and printable.
func clipText(s string) string {
	return portolan.CleanText(s, 100)
}

// hostKey normalises a host key as the store keys hosts; an invalid one is
// EINVALID (400), never a lookup.
func hostKey(key string) (string, error) {
	if t := strings.TrimSpace(key); t != key {
		// Ingest forgives white space around a host in a file; a key in a
		// URL is exact, like any other invalid character in it.
		return "", portolan.Errorf(portolan.EINVALID, "host %q is neither an IP address nor a DNS name: it has white space around it", clipText(key))
	}
	h, err := portolan.NormalizeHost(key)
	if err != nil {
		return "", err
	}
	return h, nil
}
