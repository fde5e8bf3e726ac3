// SPDX-License-Identifier: Apache-2.0

package portolan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan"
)

// systems builds the Operating System components SplitVersion and
// OperatingSystemsIn return: names only, since neither reads a release.
func systems(names ...string) []portolan.Component {
	var out []portolan.Component
	for _, n := range names {
		out = append(out, portolan.Component{Name: n, Category: portolan.CategoryOperatingSystem})
	}
	return out
}

func TestSplitVersion(t *testing.T) {
	cases := []struct {
		name, version, upstream string
		systems                 []portolan.Component
	}{
		// The version strings of the nmap ingester's tests and captures.
		{"nmap: OpenSSH on Debian", "9.2p1 Debian 2+deb12u10", "9.2p1", systems("Debian")},
		{"nmap: OpenSSH on Ubuntu, named twice", "8.2p1 Ubuntu 4ubuntu0.5", "8.2p1", systems("Ubuntu")},
		{"nmap: Ubuntu revision glued on", "5.7.33-0ubuntu0.16.04.1", "5.7.33", systems("Ubuntu")},
		{"nmap: Debian revision after a dash", "2.4.25-3+deb9u13", "2.4.25", systems("Debian")},
		{"nmap: a plain version", "2.4.6", "2.4.6", nil},
		{"nmap: another plain version", "2.2.15", "2.2.15", nil},
		{"nmap: naming no system, kept whole", "2.0.8 or later", "2.0.8 or later", nil},
		{"nmap: a dash of the upstream version", "9.4.z-SNAPSHOT", "9.4.z-SNAPSHOT", nil},
		{"nmap: database", "7.0.11", "7.0.11", nil},
		{"nmap: range", "9.6.0 - 9.6.x", "9.6.0 - 9.6.x", nil},
		{"nmap: slash", "8.15.2/8.15.2", "8.15.2/8.15.2", nil},
		{"nmap: no version", "", "", nil},
		{"nmap: MariaDB behind the 5.5.5- prefix", "5.5.5-10.11.19-MariaDB-0+deb12u1", "5.5.5-10.11.19-MariaDB", systems("Debian")},
		{"nmap: MariaDB 11 without the prefix", "11.4.2-MariaDB-ubu2204", "11.4.2-MariaDB", nil},
		{"nmap: MariaDB from Ubuntu's archive", "5.5.5-10.6.16-MariaDB-0ubuntu0.22.04.1", "5.5.5-10.6.16-MariaDB", systems("Ubuntu")},
		{"zgrab2: MariaDB without a revision", "10.11.19-MariaDB", "10.11.19-MariaDB", nil},

		// The version strings of the Shodan ingester's tests and sample.
		{"shodan: plain", "9.6", "9.6", nil},
		{"shodan: distribution in parentheses", "2.4.52 (Ubuntu)", "2.4.52", systems("Ubuntu")},
		{"shodan: Debian revision", "7.4p1-10+deb9u7", "7.4p1", systems("Debian")},
		// Shodan's ingester keeps only the first word of this; the rule
		// itself keeps words that name no system.
		{"shodan: unknown words", "2022.83 build 7", "2022.83 build 7", nil},
		{"shodan: database", "7.2.4", "7.2.4", nil},
		{"shodan: IIS", "10.0", "10.0", nil},
		{"shodan: nginx", "1.22.1", "1.22.1", nil},
		{"shodan: MySQL on Ubuntu", "8.0.36-0ubuntu0.22.04.1", "8.0.36", systems("Ubuntu")},
		{"shodan: OpenSSH on Ubuntu", "8.9p1 Ubuntu 3ubuntu0.6", "8.9p1", systems("Ubuntu")},
		{"shodan: Jetty", "9.4.53.v20231009", "9.4.53.v20231009", nil},
		{"shodan: a protocol list", "TLSv1/SSLv3", "TLSv1/SSLv3", nil},

		// What neither ingester's tests had.
		{"name glued after the release", "9.16.48-Ubuntu", "9.16.48", systems("Ubuntu")},
		{"revision and name glued on", "9.18.28-1~deb12u2-Debian", "9.18.28", systems("Debian")},
		{"name in a glued revision", "7.4p1-Debian-10", "7.4p1", systems("Debian")},
		{"tilde revision", "1.2.3-1~deb12u1", "1.2.3", systems("Debian")},
		{"tilde before the mark", "1.2~ubuntu1", "1.2", systems("Ubuntu")},
		{"a name over several fields", "2.4.6 (Red Hat Enterprise Linux)", "2.4.6", systems("Red Hat", "Linux")},
		{"distribution and kernel", "8.2p1 Ubuntu Linux", "8.2p1", systems("Ubuntu", "Linux")},
		{"release glued to a name", "7.4 (CentOS7)", "7.4", systems("CentOS")},
		{"Amazon Linux revision", "7.4p1-21.amzn2.0.1", "7.4p1", systems("Amazon Linux")},
		{"RHEL", "7.4p1 (RHEL)", "7.4p1", systems("Red Hat")},
		{"AlmaLinux", "2.4.37 (AlmaLinux)", "2.4.37", systems("AlmaLinux")},
		{"only a name", "Ubuntu", "", systems("Ubuntu")},
		{"a name first", "Debian-1.2", "", systems("Debian")},
		{"red-hat is not a glued name", "1.0 red-hat", "1.0", systems("Red Hat")},
		{"debian as a word, not a mark", "1.0 debut", "1.0 debut", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			upstream, got := portolan.SplitVersion(c.version)
			if upstream != c.upstream {
				t.Errorf("SplitVersion(%q) upstream %q, want %q", c.version, upstream, c.upstream)
			}
			if diff := cmp.Diff(c.systems, got); diff != "" {
				t.Errorf("SplitVersion(%q) systems (-want +got):\n%s", c.version, diff)
			}
		})
	}
}

func TestOperatingSystemsIn(t *testing.T) {
	cases := []struct {
		text string
		want []portolan.Component
	}{
		// nmap's extrainfo and ostype.
		{"protocol 2.0", nil},
		{"Ubuntu Linux; protocol 2.0", systems("Ubuntu", "Linux")},
		{"(CentOS)", systems("CentOS")},
		{"(Red Hat)", systems("Red Hat")},
		{"Linux", systems("Linux")},
		{"Windows", systems("Windows")},
		{"Mac OS X", systems("macOS")},
		// cpe:/o: vendors and products.
		{"linux_kernel", systems("Linux")},
		{"debian_linux", systems("Debian", "Linux")},
		{"windows_server_2008", systems("Windows")},
		{"microsoft", nil},
		// Each system once, in order.
		{"Debian GNU/Linux, Debian", systems("Debian", "Linux")},
		// Only package revisions carry the distribution marks.
		{"4ubuntu0.5 deb12u10", nil},
		{"", nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, portolan.OperatingSystemsIn(c.text)); diff != "" {
			t.Errorf("OperatingSystemsIn(%q) (-want +got):\n%s", c.text, diff)
		}
	}
}
