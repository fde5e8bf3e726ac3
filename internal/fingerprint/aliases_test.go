// SPDX-License-Identifier: Apache-2.0

package fingerprint_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/fingerprint"
)

// aliasFile mirrors aliases.json as its author writes it.
type aliasFile struct {
	Products []struct {
		Name     string   `json:"name"`
		Category string   `json:"category"`
		Aliases  []string `json:"aliases"`
		CPE      []string `json:"cpe"`
		Claims   []struct {
			Name    string `json:"name"`
			Pattern string `json:"pattern"`
		} `json:"claims"`
		Cases []struct {
			Scanner portolan.Component `json:"scanner"`
			Want    portolan.Component `json:"want"`
		} `json:"cases"`
	} `json:"products"`
}

func mustReadAliases(tb testing.TB) aliasFile {
	tb.Helper()
	data, err := os.ReadFile("aliases.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f aliasFile
	if err := json.Unmarshal(data, &f); err != nil {
		tb.Fatal(err)
	}
	return f
}

// TestAliasCases runs every case of aliases.json: an observation carrying
// only the scanner's component is recognised as exactly the canonical one.
func TestAliasCases(t *testing.T) {
	r := fingerprint.Default()
	for _, p := range mustReadAliases(t).Products {
		t.Run(p.Name, func(t *testing.T) {
			if len(p.Cases) == 0 {
				t.Fatal("product has no test case")
			}
			for _, c := range p.Cases {
				o := &portolan.Observation{Host: "192.0.2.1", Port: 1, Status: portolan.StatusOpen, Source: "test",
					Components: []portolan.Component{c.Scanner}}
				want := []portolan.Component{c.Want}
				if diff := cmp.Diff(want, r.Recognize(o)); diff != "" {
					t.Errorf("%+v (-want +got):\n%s", c.Scanner, diff)
				}
			}
		})
	}
}

// TestAliasEveryEntryTested holds the table to its promise that each entry
// has a test case: every alias, CPE pair and claim of a product is the
// scanner side of one of its cases.
func TestAliasEveryEntryTested(t *testing.T) {
	for _, p := range mustReadAliases(t).Products {
		names := make(map[string]bool)
		for _, c := range p.Cases {
			names[strings.ToLower(c.Scanner.Name)] = true
		}
		for _, a := range p.Aliases {
			if !names[strings.ToLower(a)] {
				t.Errorf("%s: alias %q has no case", p.Name, a)
			}
		}
		for _, cpe := range p.CPE {
			found := false
			for n := range names {
				found = found || strings.HasPrefix(n, "cpe:/a:"+cpe) || strings.HasPrefix(n, "cpe:/o:"+cpe) ||
					strings.HasPrefix(n, "cpe:2.3:a:"+cpe) || strings.HasPrefix(n, "cpe:2.3:o:"+cpe)
			}
			if !found {
				t.Errorf("%s: cpe %q has no case", p.Name, cpe)
			}
		}
		for _, cl := range p.Claims {
			re := regexp.MustCompile(cl.Pattern)
			found := false
			for _, c := range p.Cases {
				found = found || strings.EqualFold(c.Scanner.Name, cl.Name) && re.MatchString(c.Scanner.Version)
			}
			if !found {
				t.Errorf("%s: claim %s %q has no case", p.Name, cl.Name, cl.Pattern)
			}
		}
	}
}

// TestOneProductOneComponent is the complaint as a test: what nmap
// names and what the rules find in another scanner's banner of the same
// service, merged as a port's record merges them, name each product once.
func TestOneProductOneComponent(t *testing.T) {
	r := fingerprint.Default()
	tests := []struct {
		name    string
		scanner []portolan.Component // nmap -sV
		banner  string               // another scanner's banner of the port
		want    []portolan.Component
	}{
		{
			name:    "Apache httpd and the Server header",
			scanner: []portolan.Component{comp("Apache httpd", "2.4.71", "Server"), comp("Debian", "", "Operating System")},
			banner:  "HTTP/1.1 200 OK\r\nServer: Apache/2.4.71 (Debian)\r\n\r\n",
			want:    []portolan.Component{comp("Apache", "2.4.71", "Server"), comp("Debian", "", "Operating System")},
		},
		{
			name:    "Exim smtpd and its greeting",
			scanner: []portolan.Component{comp("Exim smtpd", "4.96", "Mail Server")},
			banner:  "220 mail.lab.test ESMTP Exim 4.96 Fri, 27 Nov 2026 12:00:00 +0000\r\n",
			want:    []portolan.Component{comp("Exim", "4.96", "Mail Server")},
		},
		{
			name:    "Dovecot imapd and its greeting",
			scanner: []portolan.Component{comp("Dovecot imapd", "", "Mail Server")},
			banner:  "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n",
			want:    []portolan.Component{comp("Debian", "", "Operating System"), comp("Dovecot", "", "Mail Server")},
		},
		{
			name:    "Redis key-value store and INFO",
			scanner: []portolan.Component{comp("Redis key-value store", "7.0.15", "Database")},
			banner:  "$3912\r\n# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n",
			want:    []portolan.Component{comp("Redis", "7.0.15", "Database")},
		},
		{
			name:    "MariaDB behind MySQL's 5.5.5- prefix, and its handshake",
			scanner: []portolan.Component{comp("MySQL", "5.5.5-10.11.19-MariaDB", "Database"), comp("Debian", "", "Operating System")},
			banner:  `o\x00\x00\x00` + "\n" + `5.5.5-10.11.19-MariaDB-0+deb12u1\x00\x25\x00\x00\x00mysql_native_password\x00`,
			want:    []portolan.Component{comp("Debian", "", "Operating System"), comp("MariaDB", "10.11.19", "Database")},
		},
		{
			name:    "Memcached: nmap's database, the rules' cache",
			scanner: []portolan.Component{comp("Memcached", "1.6.18", "Database")},
			banner:  "VERSION 1.6.18\r\n",
			want:    []portolan.Component{comp("Memcached", "1.6.18", "Cache")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nmap := &portolan.Observation{Components: tt.scanner}
			other := &portolan.Observation{Banner: tt.banner}
			// A port's record holds the union of its observations'
			// components.
			union := append(r.Recognize(nmap), r.Recognize(other)...)
			slices.SortFunc(union, func(a, b portolan.Component) int {
				return strings.Compare(a.Name+"\x00"+a.Version+"\x00"+a.Category, b.Name+"\x00"+b.Version+"\x00"+b.Category)
			})
			union = slices.Compact(union)
			if diff := cmp.Diff(tt.want, union); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// And in one observation, as nmap's banner script gives both.
			both := &portolan.Observation{Components: tt.scanner, Banner: tt.banner}
			if diff := cmp.Diff(tt.want, r.Recognize(both)); diff != "" {
				t.Errorf("one observation (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOperatingSystems: a distribution absorbs a generic Linux named in the
// same observation; Linux alone stays, and a versioned system replaces the
// versionless one.
func TestOperatingSystems(t *testing.T) {
	r := fingerprint.Default()
	os := func(name, version string) portolan.Component {
		return comp(name, version, portolan.CategoryOperatingSystem)
	}
	tests := []struct {
		name string
		in   []portolan.Component
		want []portolan.Component
	}{
		{"ostype Linux and a Debian package suffix", []portolan.Component{os("Debian", ""), os("Linux", "")}, []portolan.Component{os("Debian", "")}},
		{"Linux alone", []portolan.Component{os("Linux", "")}, []portolan.Component{os("Linux", "")}},
		{"Linux kernel CPE and Ubuntu", []portolan.Component{os("cpe:/o:linux:linux_kernel", ""), os("Ubuntu", "")}, []portolan.Component{os("Ubuntu", "")}},
		{"Debian 12 from a CPE and Debian from a suffix", []portolan.Component{os("Debian", ""), os("Debian", "12")}, []portolan.Component{os("Debian", "12")}},
		{"Windows and Linux are both kept", []portolan.Component{os("Linux", ""), os("Windows", "")}, []portolan.Component{os("Linux", ""), os("Windows", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Recognize(&portolan.Observation{Components: tt.in})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadAliasesErrors checks that an alias file with a mistake fails at
// load.
func TestLoadAliasesErrors(t *testing.T) {
	rules := []byte(`{"rules": [{"id": "x", "target": "banner", "keywords": ["x"], "pattern": "^x", "component": {"name": "X", "category": "Server"}, "cases": [{"banner": "x", "want": [{"name": "X", "category": "Server"}]}]}]}`)
	for _, tt := range []struct{ name, aliases, want string }{
		{"no case", `{"products": [{"name": "A", "category": "Server"}]}`, "no cases"},
		{"bad category", `{"products": [{"name": "A", "category": "Web"}]}`, "category"},
		{"name of two products", `{"products": [{"name": "A", "category": "Server", "aliases": ["B"], "cases": [{}]}, {"name": "B", "category": "Server", "cases": [{}]}]}`, "names both"},
		{"alias of a rule's product", `{"products": [{"name": "A", "category": "Server", "aliases": ["X"], "cases": [{}]}]}`, "names both"},
		{"bad cpe", `{"products": [{"name": "A", "category": "Server", "cpe": ["a"], "cases": [{}]}]}`, "vendor:product"},
		{"bad claim", `{"products": [{"name": "A", "category": "Server", "claims": [{"name": "B", "pattern": "(", "version": ""}], "cases": [{}]}]}`, "claim"},
		{"claim group", `{"products": [{"name": "A", "category": "Server", "claims": [{"name": "B", "pattern": "x", "version": "$1"}], "cases": [{}]}]}`, "no group 1"},
		{"unknown field", `{"products": [{"name": "A", "category": "Server", "alias": [], "cases": [{}]}]}`, "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fingerprint.LoadWithAliases(rules, []byte(tt.aliases))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
