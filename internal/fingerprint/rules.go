// SPDX-License-Identifier: Apache-2.0

package fingerprint

import (
	"bytes"
	"crypto/sha1"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"portolan"
)

//go:embed rules.json
var defaultRulesJSON []byte

// defaultRules parses the embedded file once, on first use, so that programs
// that never recognise anything do not pay for compiling ~150 regexps.
var defaultRules = sync.OnceValue(func() *Rules {
	r, err := LoadWithAliases(defaultRulesJSON, defaultAliasesJSON)
	if err != nil {
		// The embedded files are part of the binary and every test loads
		// them, so this is a build defect, not a runtime condition.
		panic("fingerprint: embedded rules.json or aliases.json: " + err.Error())
	}
	return r
})

// Default returns the rules and aliases embedded in the binary (rules.json
// and aliases.json), parsed on first use. The result is shared and safe for concurrent use.
func Default() *Rules { return defaultRules() }

// categories are the component categories a rule may yield, Defender TI's
// words (listed in doc.go). Load refuses any other, so that a typo cannot
// invent a category.
var categories = []string{
	"Server",
	"Remote Access",
	"Operating System",
	"Framework",
	"Database",
	"Mail Server",
	"Message Broker",
	"Cache",
	"Load Balancer",
	"CDN",
}

// Rules is a compiled rule file. It implements portolan.Recognizer and is
// immutable after Load, so one value serves any number of goroutines.
type Rules struct {
	rules []rule
	// keywords finds the candidate banner and header rules of a banner.
	keywords *keywordMatcher
	// certRules are the indices of the rules over certificate fields, in
	// file order; they are few and their texts short, so they skip the
	// automaton.
	certRules []int
	// words is the length of the rule bitset Recognize keeps.
	words int
	// aliases gives every component its product's canonical name.
	aliases *aliasTable
	// certMatches remembers what the certificate rules found in a
	// certificate, by SHA-1 of its DER: a service presents the same
	// certificate scan after scan, and parsing it is the dearest step.
	certMu      sync.Mutex
	certMatches map[[sha1.Size]byte][]match
}

// maxCertMatches bounds the certificate memo; it starts over when full.
const maxCertMatches = 4096

var _ portolan.Recognizer = (*Rules)(nil)

type targetKind int

const (
	targetBanner targetKind = iota + 1
	targetHeader
	targetCertificate
)

// certField is one field of a certificate's subject or issuer.
type certField struct {
	issuer bool
	field  string // commonName, organizationName or organizationUnitName
}

func (f certField) value(c *portolan.SSLCertificate) string {
	e := &c.Subject
	if f.issuer {
		e = &c.Issuer
	}
	switch f.field {
	case "commonName":
		return e.CommonName
	case "organizationName":
		return e.OrganizationName
	case "organizationUnitName":
		return e.OrganizationUnitName
	}
	return ""
}

type rule struct {
	id     string
	kind   targetKind
	header string    // for targetHeader: the field name as written in the file
	cert   certField // for targetCertificate
	re     *regexp.Regexp
	// keywords and unless are lower-cased for containsFold.
	keywords []string
	unless   []string
	yields   []yield // the component, then the extras
}

// yield is a component a rule produces when it matches.
type yield struct {
	name, category string
	// version is the template expanded with the match; group is the
	// capture group when the template is exactly "$n" or "${n}" (the common
	// case, served without regexp.Expand), else -1.
	version string
	group   int
	// aliases are other names of the product (scanners' names); a scanner
	// component with the name or an alias makes this one redundant.
	aliases []string
}

// The file format, mirrored field for field (doc.go describes it).
type fileJSON struct {
	Comment []string   `json:"comment"`
	Rules   []ruleJSON `json:"rules"`
}

type ruleJSON struct {
	ID        string          `json:"id"`
	Target    string          `json:"target"`
	Keywords  []string        `json:"keywords"`
	Pattern   string          `json:"pattern"`
	Unless    []string        `json:"unless"`
	Component componentJSON   `json:"component"`
	Extra     []componentJSON `json:"extra"`
	Cases     []caseJSON      `json:"cases"`
}

type componentJSON struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Category string   `json:"category"`
	Aliases  []string `json:"aliases"`
}

type caseJSON struct {
	Banner      string               `json:"banner"`
	Certificate *certificateJSON     `json:"certificate"`
	Want        []portolan.Component `json:"want"`
}

type certificateJSON struct {
	Subject nameJSON `json:"subject"`
	Issuer  nameJSON `json:"issuer"`
}

type nameJSON struct {
	CommonName           string `json:"commonName"`
	OrganizationName     string `json:"organizationName"`
	OrganizationUnitName string `json:"organizationUnitName"`
}

// Load parses and compiles a rule file (format in the package documentation).
// Every regexp is compiled and every keyword indexed here, so that Recognize
// does no setup. Unknown fields, duplicate ids, unknown targets or
// categories, version templates naming a missing capture group and rules
// without a keyword or a test case are errors: a rule file is code, and a
// mistake in it should fail at load, not silently match nothing.
func Load(data []byte) (*Rules, error) {
	return LoadWithAliases(data, nil)
}

// LoadWithAliases is Load with an alias file (format in the package
// documentation) besides the rules' own aliases; nil aliases is Load. A name
// that two products claim, or a product without a test case, is an error.
func LoadWithAliases(data, aliases []byte) (*Rules, error) {
	table := newAliasTable()
	if aliases != nil {
		if err := table.load(aliases); err != nil {
			return nil, fmt.Errorf("fingerprint: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileJSON
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("fingerprint: parse rules: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("fingerprint: parse rules: data after the top-level object")
	}
	r := &Rules{rules: make([]rule, 0, len(f.Rules))}
	seen := make(map[string]bool, len(f.Rules))
	var bannerKeywords [][]string
	var bannerRules []int
	for i := range f.Rules {
		rj := &f.Rules[i]
		ru, err := compileRule(rj)
		if err != nil {
			if rj.ID == "" {
				return nil, fmt.Errorf("fingerprint: rule #%d: %w", i+1, err)
			}
			return nil, fmt.Errorf("fingerprint: rule %s: %w", rj.ID, err)
		}
		if seen[ru.id] {
			return nil, fmt.Errorf("fingerprint: rule %s: id used twice", ru.id)
		}
		seen[ru.id] = true
		for _, y := range ru.yields {
			p := &product{name: y.name, category: y.category}
			for _, name := range append([]string{y.name}, y.aliases...) {
				if err := table.add(name, p); err != nil {
					return nil, fmt.Errorf("fingerprint: rule %s: %w", ru.id, err)
				}
			}
		}
		idx := len(r.rules)
		r.rules = append(r.rules, ru)
		if ru.kind == targetCertificate {
			r.certRules = append(r.certRules, idx)
		} else {
			bannerKeywords = append(bannerKeywords, ru.keywords)
			bannerRules = append(bannerRules, idx)
		}
	}
	m, err := newKeywordMatcher(bannerKeywords, bannerRules)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	r.keywords = m
	r.words = (len(r.rules) + 63) / 64
	r.aliases = table
	return r, nil
}

func compileRule(rj *ruleJSON) (rule, error) {
	ru := rule{id: strings.TrimSpace(rj.ID)}
	if ru.id == "" {
		return ru, fmt.Errorf("id is missing")
	}
	switch t := rj.Target; {
	case t == "banner":
		ru.kind = targetBanner
	case strings.HasPrefix(t, "header:"):
		ru.kind = targetHeader
		ru.header = strings.TrimPrefix(t, "header:")
		if !isToken(ru.header) {
			return ru, fmt.Errorf("target %q: %q is not an HTTP field name", t, ru.header)
		}
	case strings.HasPrefix(t, "certificate:"):
		ru.kind = targetCertificate
		side, field, _ := strings.Cut(strings.TrimPrefix(t, "certificate:"), "/")
		switch field {
		case "commonName", "organizationName", "organizationUnitName":
		default:
			return ru, fmt.Errorf("target %q: field is not commonName, organizationName or organizationUnitName", t)
		}
		switch side {
		case "subject", "issuer":
		default:
			return ru, fmt.Errorf("target %q: side is not subject or issuer", t)
		}
		ru.cert = certField{issuer: side == "issuer", field: field}
	default:
		return ru, fmt.Errorf("target %q is not banner, header:NAME or certificate:SIDE/FIELD", t)
	}
	if len(rj.Keywords) == 0 {
		return ru, fmt.Errorf("no keywords: every rule needs a literal its text must contain")
	}
	for _, kw := range rj.Keywords {
		if kw == "" {
			return ru, fmt.Errorf("empty keyword")
		}
		ru.keywords = append(ru.keywords, lowerKeyword(kw))
	}
	for _, u := range rj.Unless {
		if u == "" {
			return ru, fmt.Errorf("empty unless literal")
		}
		ru.unless = append(ru.unless, lowerKeyword(u))
	}
	re, err := regexp.Compile(rj.Pattern)
	if err != nil {
		return ru, fmt.Errorf("pattern: %w", err)
	}
	if rj.Pattern == "" {
		return ru, fmt.Errorf("pattern is missing")
	}
	ru.re = re
	for i, cj := range append([]componentJSON{rj.Component}, rj.Extra...) {
		y, err := compileYield(cj, re)
		if err != nil {
			if i == 0 {
				return ru, fmt.Errorf("component: %w", err)
			}
			return ru, fmt.Errorf("extra %d: %w", i, err)
		}
		ru.yields = append(ru.yields, y)
	}
	if len(rj.Cases) == 0 {
		return ru, fmt.Errorf("no cases: every rule carries at least one test case")
	}
	for i, c := range rj.Cases {
		if c.Banner == "" && c.Certificate == nil {
			return ru, fmt.Errorf("case %d has neither banner nor certificate", i+1)
		}
	}
	return ru, nil
}

func compileYield(cj componentJSON, re *regexp.Regexp) (yield, error) {
	y := yield{
		name:     strings.TrimSpace(cj.Name),
		category: cj.Category,
		version:  cj.Version,
		group:    -1,
		aliases:  cj.Aliases,
	}
	if y.name == "" {
		return y, fmt.Errorf("name is missing")
	}
	if !knownCategory(y.category) {
		return y, fmt.Errorf("category %q is not one of %s", y.category, strings.Join(categories, ", "))
	}
	group, err := checkTemplate(y.version, re)
	if err != nil {
		return y, fmt.Errorf("version %q: %w", y.version, err)
	}
	y.group = group
	return y, nil
}

// checkTemplate verifies that every $reference of a regexp.Expand template
// names a capture group of re; regexp.Expand would silently expand a wrong
// one to nothing. It returns the group number when the template is exactly
// one numbered reference, else -1.
func checkTemplate(tmpl string, re *regexp.Regexp) (int, error) {
	only := -1
	refs := 0
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '$' {
			continue
		}
		if i+1 < len(tmpl) && tmpl[i+1] == '$' {
			i++
			continue
		}
		// Expand takes the longest run of name characters, or a braced name.
		var name string
		start := i
		if i+1 < len(tmpl) && tmpl[i+1] == '{' {
			end := strings.IndexByte(tmpl[i+2:], '}')
			if end < 0 {
				return -1, fmt.Errorf("unclosed ${")
			}
			name = tmpl[i+2 : i+2+end]
			i += 2 + end
		} else {
			j := i + 1
			for j < len(tmpl) && isNameByte(tmpl[j]) {
				j++
			}
			name = tmpl[i+1 : j]
			i = j - 1
		}
		if name == "" {
			return -1, fmt.Errorf("$ without a group name (write $$ for a dollar)")
		}
		refs++
		if n, err := strconv.Atoi(name); err == nil {
			if n < 0 || n > re.NumSubexp() {
				return -1, fmt.Errorf("pattern has no group %d", n)
			}
			if start == 0 && i == len(tmpl)-1 {
				only = n
			}
		} else if re.SubexpIndex(name) < 0 {
			return -1, fmt.Errorf("pattern has no group named %q", name)
		}
	}
	if refs != 1 {
		only = -1
	}
	return only, nil
}

func isNameByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// isToken reports whether s is an RFC 9110 token, the syntax of field names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isNameByte(c) || strings.IndexByte("!#$%&'*+-.^`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func lowerKeyword(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lowerASCII(b[i])
	}
	return string(b)
}
