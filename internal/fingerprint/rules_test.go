// SPDX-License-Identifier: Apache-2.0

package fingerprint_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/fingerprint"
)

// ruleFile mirrors rules.json as a rule author writes it, so that the test
// reads the cases without the package exporting them.
type ruleFile struct {
	Comment []string          `json:"comment"`
	Rules   []json.RawMessage `json:"rules"`
}

type ruleCases struct {
	ID        string `json:"id"`
	Target    string `json:"target"`
	Pattern   string `json:"pattern"`
	Component struct {
		Name     string `json:"name"`
		Category string `json:"category"`
	} `json:"component"`
	Cases []ruleCase `json:"cases"`
}

type ruleCase struct {
	Banner      string               `json:"banner"`
	Certificate *certSpec            `json:"certificate"`
	Want        []portolan.Component `json:"want"`
}

type certSpec struct {
	Subject nameSpec `json:"subject"`
	Issuer  nameSpec `json:"issuer"`
}

type nameSpec struct {
	CommonName           string `json:"commonName"`
	OrganizationName     string `json:"organizationName"`
	OrganizationUnitName string `json:"organizationUnitName"`
}

// MustReadRules returns the raw rules of the embedded file and their cases.
func MustReadRules(tb testing.TB) ([]json.RawMessage, []ruleCases) {
	tb.Helper()
	data, err := os.ReadFile("rules.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f ruleFile
	if err := json.Unmarshal(data, &f); err != nil {
		tb.Fatal(err)
	}
	cases := make([]ruleCases, len(f.Rules))
	for i, raw := range f.Rules {
		if err := json.Unmarshal(raw, &cases[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return f.Rules, cases
}

// observationOf builds the observation a case describes.
func observationOf(tb testing.TB, c ruleCase) *portolan.Observation {
	tb.Helper()
	o := &portolan.Observation{Host: "192.0.2.1", Port: 443, Status: portolan.StatusOpen, Source: "test", Banner: c.Banner}
	if c.Certificate != nil {
		o.Certificate = MustCertificate(tb, c.Certificate.Subject, c.Certificate.Issuer)
	}
	return o
}

func sortedComponents(cs []portolan.Component) []portolan.Component {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b portolan.Component) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	return out
}

// TestRuleCases runs every case of every rule against the whole rule set
// (want is the complete result), then against the rule alone, which must
// fire on at least one of its cases and yield nothing its cases do not
// expect.
func TestRuleCases(t *testing.T) {
	raws, rules := MustReadRules(t)
	if len(rules) == 0 {
		t.Fatal("rules.json holds no rules")
	}
	all := fingerprint.Default()
	for i, r := range rules {
		t.Run(r.ID, func(t *testing.T) {
			if len(r.Cases) == 0 {
				t.Fatal("rule has no test case")
			}
			alone, err := fingerprint.Load([]byte(`{"rules": [` + string(raws[i]) + `]}`))
			if err != nil {
				t.Fatalf("Load of the rule alone: %v", err)
			}
			fired := false
			for j, c := range r.Cases {
				o := observationOf(t, c)
				want := sortedComponents(c.Want)
				if len(want) == 0 {
					want = nil
				}
				if diff := cmp.Diff(want, all.Recognize(o)); diff != "" {
					t.Errorf("case %d (%.60q): Recognize mismatch (-want +got):\n%s", j+1, c.Banner, diff)
				}
				for _, got := range alone.Recognize(o) {
					fired = true
					ok := false
					for _, w := range c.Want {
						ok = ok || (w.Name == got.Name && w.Category == got.Category)
					}
					if !ok {
						t.Errorf("case %d: the rule alone yields %+v, which want does not list", j+1, got)
					}
				}
			}
			if !fired {
				t.Errorf("the rule alone matches none of its cases; is a keyword missing from the banner?")
			}
		})
	}
}

// TestRuleCoverage keeps the promise of at least 60 distinct products, each
// shown by a case, and checks every category is one of Defender TI's words.
func TestRuleCoverage(t *testing.T) {
	_, rules := MustReadRules(t)
	products := map[string]bool{}
	for _, r := range rules {
		for _, c := range r.Cases {
			for _, w := range c.Want {
				products[w.Name] = true
			}
		}
	}
	if len(products) < 60 {
		t.Errorf("cases show %d distinct products, want at least 60", len(products))
	}
	t.Logf("%d rules, %d distinct products in cases", len(rules), len(products))
}

// TestBannerPatternsAreCheap keeps 16 KiB banners fast: a pattern over the
// whole banner must start with a literal (Go's regexp then skips from one
// occurrence to the next) or be anchored at the start (tried once).
// Patterns over a header value or a certificate field see short texts.
func TestBannerPatternsAreCheap(t *testing.T) {
	_, rules := MustReadRules(t)
	for _, r := range rules {
		if r.Target != "banner" {
			continue
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			t.Errorf("%s: %v", r.ID, err)
			continue
		}
		if prefix, _ := re.LiteralPrefix(); prefix == "" && !strings.HasPrefix(r.Pattern, "^") {
			t.Errorf("%s: pattern %q has no literal prefix and no ^ anchor, so it is tried at every byte of the banner", r.ID, r.Pattern)
		}
	}
}

func TestDefaultIsParsedOnce(t *testing.T) {
	first, second := fingerprint.Default(), fingerprint.Default()
	if first != second {
		t.Error("Default returned two different *Rules")
	}
}

func TestLoadErrors(t *testing.T) {
	const okCase = `"cases": [{"banner": "Server: x", "want": []}]`
	rule := func(body string) string { return `{"rules": [{` + body + `}]}` }
	tests := []struct {
		name, data, want string
	}{
		{"not JSON", `{`, "parse rules"},
		{"unknown field", `{"rulez": []}`, "unknown field"},
		{"trailing data", `{"rules": []} {}`, "after the top-level object"},
		{"missing id", rule(`"target": "banner", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase), "id is missing"},
		{"bad target", rule(`"id": "a", "target": "body", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase), "is not banner"},
		{"bad header", rule(`"id": "a", "target": "header:Ser ver", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase), "not an HTTP field name"},
		{"bad certificate field", rule(`"id": "a", "target": "certificate:subject/country", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase), "field is not"},
		{"bad certificate side", rule(`"id": "a", "target": "certificate:owner/commonName", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase), "side is not"},
		{"no keywords", rule(`"id": "a", "target": "banner", "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase), "no keywords"},
		{"empty keyword", rule(`"id": "a", "target": "banner", "keywords": [""], "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase), "empty keyword"},
		{"bad regexp", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x(", "component": {"name": "X", "category": "Server"}, ` + okCase), "pattern"},
		{"no pattern", rule(`"id": "a", "target": "banner", "keywords": ["x"], "component": {"name": "X", "category": "Server"}, ` + okCase), "pattern is missing"},
		{"no name", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x", "component": {"category": "Server"}, ` + okCase), "name is missing"},
		{"bad category", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Web Server"}, ` + okCase), "category"},
		{"bad extra", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, "extra": [{"name": "Y", "category": "OS"}], ` + okCase), "extra 1"},
		{"missing group", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x(1)", "component": {"name": "X", "version": "$2", "category": "Server"}, ` + okCase), "no group 2"},
		{"glued group", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x(1)", "component": {"name": "X", "version": "$1x", "category": "Server"}, ` + okCase), "no group named"},
		{"unclosed brace", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x(1)", "component": {"name": "X", "version": "${1", "category": "Server"}, ` + okCase), "unclosed"},
		{"lone dollar", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x(1)", "component": {"name": "X", "version": "v$", "category": "Server"}, ` + okCase), "without a group name"},
		{"no cases", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}`), "no cases"},
		{"empty case", rule(`"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, "cases": [{"want": []}]`), "neither banner nor certificate"},
		{"duplicate id", `{"rules": [` +
			`{"id": "a", "target": "banner", "keywords": ["x"], "pattern": "x", "component": {"name": "X", "category": "Server"}, ` + okCase + `},` +
			`{"id": "a", "target": "banner", "keywords": ["y"], "pattern": "y", "component": {"name": "Y", "category": "Server"}, ` + okCase + `}]}`, "used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fingerprint.Load([]byte(tt.data))
			if err == nil {
				t.Fatalf("Load succeeded (%v), want an error containing %q", r, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "fingerprint: ") {
				t.Errorf("Load error = %q, want it to start with \"fingerprint: \" and contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadEmpty(t *testing.T) {
	r, err := fingerprint.Load([]byte(`{"comment": ["nothing yet"], "rules": []}`))
	if err != nil {
		t.Fatal(err)
	}
	o := &portolan.Observation{Banner: "Server: nginx/1.22.1"}
	if got := r.Recognize(o); got != nil {
		t.Errorf("Recognize with no rules = %v, want nil", got)
	}
}

// testKey signs every test certificate; generating one key is the slow part.
var testKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// MustCertificate returns the DER of a certificate with the subject, issued
// by a CA named issuer (self-signed when issuer is empty).
func MustCertificate(tb testing.TB, subject, issuer nameSpec) []byte {
	tb.Helper()
	name := func(n nameSpec) pkix.Name {
		var p pkix.Name
		p.CommonName = n.CommonName
		if n.OrganizationName != "" {
			p.Organization = []string{n.OrganizationName}
		}
		if n.OrganizationUnitName != "" {
			p.OrganizationalUnit = []string{n.OrganizationUnitName}
		}
		return p
	}
	key := testKey()
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      name(subject),
		NotBefore:    now,
		NotAfter:     now.AddDate(1, 0, 0),
	}
	parent := leaf
	if issuer != (nameSpec{}) {
		parent = &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               name(issuer),
			NotBefore:             now,
			NotAfter:              now.AddDate(1, 0, 0),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, parent, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}
