// SPDX-License-Identifier: Apache-2.0

package fingerprint

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"portolan"
)

//go:embed aliases.json
var defaultAliasesJSON []byte

// aliasTable maps the names scanners give a product to its one canonical
// component name and category (aliases.json; the format is in doc.go).
type aliasTable struct {
	// byName is keyed by the lower-cased alias, canonical name or CPE
	// vendor:product.
	byName map[string]*product
	// claims are scanner names whose version decides the product: the
	// MySQL protocol's "5.5.5-" prefix that MariaDB sends. Keyed like
	// byName, tried before it.
	claims map[string][]claim
}

// product is one canonical product.
type product struct {
	name, category string
}

// claim says that a scanner component called by another product's name is
// this product when its version matches pattern; version is the template
// of the upstream version.
type claim struct {
	p       *product
	re      *regexp.Regexp
	version string
}

// The alias file, mirrored field for field (doc.go describes it).
type aliasFileJSON struct {
	Comment  []string      `json:"comment"`
	Products []productJSON `json:"products"`
}

type productJSON struct {
	Name     string      `json:"name"`
	Category string      `json:"category"`
	Aliases  []string    `json:"aliases"`
	CPE      []string    `json:"cpe"`
	Claims   []claimJSON `json:"claims"`
	Cases    []aliasCase `json:"cases"`
}

type claimJSON struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
	Version string `json:"version"`
}

type aliasCase struct {
	Scanner portolan.Component `json:"scanner"`
	Want    portolan.Component `json:"want"`
}

func newAliasTable() *aliasTable {
	return &aliasTable{byName: make(map[string]*product), claims: make(map[string][]claim)}
}

// add records name as a name of p; a name that already belongs to another
// product is an error, since a scanner's word must mean one thing.
func (t *aliasTable) add(name string, p *product) error {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" {
		return fmt.Errorf("empty alias of %s", p.name)
	}
	if q, ok := t.byName[key]; ok && q != p && (q.name != p.name || q.category != p.category) {
		return fmt.Errorf("%q names both %s (%s) and %s (%s)", name, q.name, q.category, p.name, p.category)
	}
	if _, ok := t.byName[key]; !ok {
		t.byName[key] = p
	}
	return nil
}

// loadAliases adds the products of an alias file to t.
func (t *aliasTable) load(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f aliasFileJSON
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("parse aliases: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("parse aliases: data after the top-level object")
	}
	for i := range f.Products {
		pj := &f.Products[i]
		if err := t.loadProduct(pj); err != nil {
			if pj.Name == "" {
				return fmt.Errorf("alias product #%d: %w", i+1, err)
			}
			return fmt.Errorf("alias product %s: %w", pj.Name, err)
		}
	}
	return nil
}

func (t *aliasTable) loadProduct(pj *productJSON) error {
	p := &product{name: strings.TrimSpace(pj.Name), category: pj.Category}
	if p.name == "" {
		return fmt.Errorf("name is missing")
	}
	if !knownCategory(p.category) {
		return fmt.Errorf("category %q is not one of %s", p.category, strings.Join(categories, ", "))
	}
	if len(pj.Cases) == 0 {
		return fmt.Errorf("no cases: every product carries at least one test case")
	}
	// The canonical name is its own alias, so that a scanner's "NGINX"
	// becomes "nginx" and a wrong category is corrected.
	if err := t.add(p.name, p); err != nil {
		return err
	}
	for _, a := range pj.Aliases {
		if err := t.add(a, p); err != nil {
			return err
		}
	}
	for _, c := range pj.CPE {
		vendor, prod, ok := strings.Cut(c, ":")
		if !ok || vendor == "" || prod == "" || strings.Contains(prod, ":") {
			return fmt.Errorf("cpe %q is not vendor:product", c)
		}
		if err := t.add("cpe:"+strings.ToLower(c), p); err != nil {
			return err
		}
	}
	for _, cj := range pj.Claims {
		re, err := regexp.Compile(cj.Pattern)
		if err != nil || cj.Pattern == "" {
			return fmt.Errorf("claim %s: pattern %q: %v", cj.Name, cj.Pattern, err)
		}
		if _, err := checkTemplate(cj.Version, re); err != nil {
			return fmt.Errorf("claim %s: version %q: %w", cj.Name, cj.Version, err)
		}
		key := strings.ToLower(strings.TrimSpace(cj.Name))
		if key == "" {
			return fmt.Errorf("claim without a name")
		}
		t.claims[key] = append(t.claims[key], claim{p: p, re: re, version: cj.Version})
	}
	return nil
}

// lookup returns the product a scanner's name stands for, nil when the
// table does not know it. A CPE name ("cpe:/a:apache:http_server" or
// "cpe:2.3:a:apache:http_server:…") is looked up by vendor:product.
func (t *aliasTable) lookup(name string) *product {
	if t == nil {
		return nil
	}
	if p, ok := t.byName[name]; ok {
		return p
	}
	key := strings.ToLower(strings.TrimSpace(name))
	if vp, _, ok := cpeParts(key); ok {
		return t.byName["cpe:"+vp]
	}
	return t.byName[key]
}

// cpeParts returns "vendor:product" and the version of a CPE 2.2 URI or
// 2.3 formatted string ("" or "*" when it has none).
func cpeParts(s string) (vendorProduct, version string, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(s, "cpe:/"):
		rest = s[len("cpe:/"):]
	case strings.HasPrefix(s, "cpe:2.3:"):
		rest = s[len("cpe:2.3:"):]
	default:
		return "", "", false
	}
	parts := strings.SplitN(rest, ":", 5)
	if len(parts) < 3 || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	if len(parts) > 3 && parts[3] != "*" && parts[3] != "-" {
		version = parts[3]
	}
	return strings.ToLower(parts[1] + ":" + parts[2]), version, true
}

// canonical returns c under its product's canonical name and category,
// with the version a claim gives; c itself when the table does not know it.
func (t *aliasTable) canonical(c portolan.Component) portolan.Component {
	if t == nil {
		return c
	}
	if len(t.claims) > 0 {
		for _, cl := range t.claims[strings.ToLower(strings.TrimSpace(c.Name))] {
			m := cl.re.FindStringSubmatchIndex(c.Version)
			if m == nil {
				continue
			}
			v := string(cl.re.ExpandString(nil, cl.version, c.Version, m))
			return portolan.Component{Name: cl.p.name, Version: v, Category: cl.p.category}
		}
	}
	p := t.lookup(c.Name)
	if p == nil {
		return c
	}
	v := c.Version
	if _, cv, ok := cpeParts(strings.ToLower(c.Name)); ok && v == "" {
		v = cv // a CPE carries its version in the name
	}
	return portolan.Component{Name: p.name, Version: v, Category: p.category}
}

func knownCategory(c string) bool {
	for _, k := range categories {
		if k == c {
			return true
		}
	}
	return false
}
