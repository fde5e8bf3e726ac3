// SPDX-License-Identifier: Apache-2.0

package fingerprint

import (
	"crypto/sha1"
	"math/bits"
	"regexp"
	"slices"
	"strings"

	"portolan"
)

// maxComponentText bounds a captured version as Observation.Normalize bounds
// the fields of scanner components, so that both kinds store alike.
const maxComponentText = 256

// Recognize returns the components to merge for o: the ones the scanner named
// (o.Components) and the ones the rules find in o.Banner and in o.Certificate,
// under their canonical names, without duplicates, sorted by name, version and
// category.
//
// Every component first takes its product's canonical name and category
// from the alias table (aliases.json and the rules' aliases): nmap's "Apache
// httpd", Shodan's "Apache HTTP Server" and cpe:/a:apache:http_server are all
// Apache, and a MySQL whose version carries MariaDB's "5.5.5-" prefix is
// MariaDB with its own version. Then, per canonical name and category:
//
//   - the scanner's word wins: a rule's component is dropped when the
//     scanner named the same product, unless the scanner gave no version
//     and the rule did;
//   - a component without a version is dropped when one with a version is
//     there (a Via header says "varnish", the Server header "Varnish/6.0":
//     one component);
//   - a generic "Linux" operating system is dropped when a Linux
//     distribution is named (nmap's ostype "Linux" next to the Debian of a
//     "+deb12u10" package suffix is one system, Debian).
//
// Recognize does not modify o. When no rule matches and o.Components is
// already canonical, sorted and free of duplicates, the result is
// o.Components itself (with its capacity clipped, so appending to it never
// writes into o); callers must not modify its elements.
func (r *Rules) Recognize(o *portolan.Observation) []portolan.Component {
	if o == nil {
		return nil
	}
	if r == nil {
		return scannerOnly(nil, o.Components)
	}
	// Room for a typical observation's matches on the stack, so that only
	// the result is allocated.
	var buf [8]match
	found := buf[:0]
	if o.Banner != "" {
		found = r.matchBanner(o.Banner, found)
	}
	if len(o.Certificate) > 0 && len(r.certRules) > 0 {
		found = r.matchCertificate(o.Certificate, found)
	}
	if len(found) == 0 {
		return scannerOnly(r.aliases, o.Components)
	}
	return merge(r.aliases, o.Components, found)
}

// match is a component a rule found, with the yield that made it (for its
// aliases).
type match struct {
	c portolan.Component
	y *yield
}

// matchBanner runs the banner and header rules whose keywords occur in the
// banner. Most banners hit a handful of keywords, so most regexps never run.
func (r *Rules) matchBanner(banner string, found []match) []match {
	// A bitset on the stack for up to 512 rules keeps the no-match path
	// free of allocation.
	var stack [8]uint64
	var hits []uint64
	if r.words <= len(stack) {
		hits = stack[:r.words]
	} else {
		hits = make([]uint64, r.words)
	}
	r.keywords.scan(banner, hits)

	var head httpHead // computed on the first header rule, then reused
	for w, word := range hits {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			ru := &r.rules[w*64+b]
			switch ru.kind {
			case targetBanner:
				found = ru.apply(banner, found)
			case targetHeader:
				if !head.parsed {
					head = parseHead(banner)
				}
				// A field can repeat (two X-Powered-By lines); each counts.
				for rest := head.text; ; {
					var value string
					var ok bool
					value, rest, ok = head.next(rest, ru.header)
					if !ok {
						break
					}
					found = ru.apply(value, found)
				}
			}
		}
	}
	return found
}

// matchCertificate runs the certificate rules. The certificate is parsed only
// here, when a rule could use it.
func (r *Rules) matchCertificate(data []byte, found []match) []match {
	der, err := portolan.DecodeCertificate(data)
	if err != nil {
		return found
	}
	key := sha1.Sum(der)
	r.certMu.Lock()
	memo, ok := r.certMatches[key]
	r.certMu.Unlock()
	if !ok {
		memo = r.certificateMatches(der)
		r.certMu.Lock()
		if r.certMatches == nil || len(r.certMatches) >= maxCertMatches {
			r.certMatches = make(map[[sha1.Size]byte][]match)
		}
		r.certMatches[key] = memo
		r.certMu.Unlock()
	}
	return append(found, memo...)
}

// certificateMatches runs the certificate rules over one certificate.
func (r *Rules) certificateMatches(der []byte) []match {
	cert, err := portolan.ParseCertificate(der)
	if err != nil {
		// A certificate crypto/x509 refuses reveals nothing we could trust.
		return nil
	}
	var found []match
	for _, idx := range r.certRules {
		ru := &r.rules[idx]
		text := ru.cert.value(cert)
		if text == "" {
			continue
		}
		for _, kw := range ru.keywords {
			if containsFold(text, kw) {
				found = ru.apply(text, found)
				break
			}
		}
	}
	return found
}

// apply matches the rule against text and appends its components.
func (ru *rule) apply(text string, found []match) []match {
	for _, u := range ru.unless {
		if containsFold(text, u) {
			return found
		}
	}
	m := ru.re.FindStringSubmatchIndex(text)
	if m == nil {
		return found
	}
	for i := range ru.yields {
		y := &ru.yields[i]
		found = append(found, match{
			c: portolan.Component{Name: y.name, Version: y.expand(ru.re, text, m), Category: y.category},
			y: y,
		})
	}
	return found
}

// expand returns the version the match gives.
func (y *yield) expand(re *regexp.Regexp, text string, m []int) string {
	var v string
	switch {
	case y.version == "":
		return ""
	case y.group >= 0:
		if m[2*y.group] < 0 {
			return "" // an optional version that the banner does not show
		}
		v = text[m[2*y.group]:m[2*y.group+1]]
	default:
		v = string(re.ExpandString(nil, y.version, text, m))
	}
	// Clone so that a stored component does not pin a 16 KiB banner.
	return strings.Clone(strings.TrimSpace(portolan.CleanText(v, maxComponentText)))
}

// merge combines the scanner's components with the rules' (see Recognize).
func merge(t *aliasTable, scanner []portolan.Component, found []match) []portolan.Component {
	out := make([]portolan.Component, 0, len(scanner)+len(found))
	for _, c := range scanner {
		out = append(out, t.canonical(c))
	}
	nScanner := len(out)
	for i := range found {
		c := t.canonical(found[i].c)
		// A version captured from a hostile banner could hold "$$" and make
		// the component's id ambiguous (Component.CheckID); such a match is
		// not a component, and the banner that showed it is kept.
		if namedByScanner(out[:nScanner], c) || c.CheckID() != nil {
			continue
		}
		out = append(out, c)
	}
	return tidy(out)
}

// namedByScanner reports whether the scanner's (canonical) components make
// the rule's c redundant: the same product, with a version or with none
// where c has none either.
func namedByScanner(scanner []portolan.Component, c portolan.Component) bool {
	for _, s := range scanner {
		if strings.EqualFold(s.Name, c.Name) && (s.Version != "" || c.Version == "") {
			return true
		}
	}
	return false
}

// tidy sorts cs, drops duplicates, versionless components that a versioned
// one of the same name and category makes redundant, and a generic Linux
// that a distribution makes redundant. It may reorder cs in place.
func tidy(cs []portolan.Component) []portolan.Component {
	slices.SortFunc(cs, compareComponents)
	cs = slices.Compact(cs)
	distro := false
	for _, c := range cs {
		distro = distro || c.Category == portolan.CategoryOperatingSystem && portolan.IsLinuxDistribution(c.Name)
	}
	out := cs[:0]
	for i, c := range cs {
		// Sorted by name, version, category: the versionless entry of a
		// name comes first, and a versioned one of the same name follows.
		if c.Version == "" && versionedFollows(cs[i+1:], c) {
			continue
		}
		if distro && c.Category == portolan.CategoryOperatingSystem && c.Name == "Linux" {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil
	}
	return slices.Clip(out)
}

// isTidy reports whether tidy would return cs unchanged, with every
// component already canonical: the common case of a scanner's components,
// checked without allocating.
func isTidy(t *aliasTable, cs []portolan.Component) bool {
	distro, linux := false, false
	for i, c := range cs {
		if t.canonical(c) != c || i > 0 && compareComponents(cs[i-1], c) >= 0 ||
			c.Version == "" && versionedFollows(cs[i+1:], c) {
			return false
		}
		if c.Category == portolan.CategoryOperatingSystem {
			distro = distro || portolan.IsLinuxDistribution(c.Name)
			linux = linux || c.Name == "Linux"
		}
	}
	return !(distro && linux)
}

func versionedFollows(rest []portolan.Component, c portolan.Component) bool {
	for _, d := range rest {
		if d.Name != c.Name {
			return false
		}
		if d.Version != "" && d.Category == c.Category {
			return true
		}
	}
	return false
}

// scannerOnly returns the scanner's components canonical, sorted and
// deduplicated, copying only when they are not already.
func scannerOnly(t *aliasTable, cs []portolan.Component) []portolan.Component {
	if len(cs) == 0 {
		return nil
	}
	if isTidy(t, cs) {
		return cs[:len(cs):len(cs)]
	}
	out := make([]portolan.Component, len(cs))
	for i, c := range cs {
		out[i] = t.canonical(c)
	}
	return tidy(out)
}

// compareComponents orders as portolan.Component.Less does.
func compareComponents(a, b portolan.Component) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	return strings.Compare(a.Category, b.Category)
}
