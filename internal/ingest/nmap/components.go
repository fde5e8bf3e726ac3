// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"strings"
	"unicode"

	"portolan"
)

// Component categories, in Defender TI's words (intelligence.md §5).
const (
	categoryServer          = "Server"
	categoryRemoteAccess    = "Remote Access"
	categoryMailServer      = "Mail Server"
	categoryDatabase        = "Database"
	categoryOperatingSystem = "Operating System"
)

// categoryByService gives the category of a product from nmap's service name
// (nmap-services spelling). Any other service with a product is a Server.
var categoryByService = map[string]string{
	"ssh":           categoryRemoteAccess,
	"telnet":        categoryRemoteAccess,
	"telnets":       categoryRemoteAccess,
	"rdp":           categoryRemoteAccess,
	"ms-wbt-server": categoryRemoteAccess, // nmap's name for RDP
	"vnc":           categoryRemoteAccess,
	"vnc-http":      categoryRemoteAccess,
	"x11":           categoryRemoteAccess,
	"rlogin":        categoryRemoteAccess,
	"login":         categoryRemoteAccess, // rlogin on 513
	"shell":         categoryRemoteAccess, // rsh on 514
	"exec":          categoryRemoteAccess, // rexec on 512
	"citrix-ica":    categoryRemoteAccess,
	"teamviewer":    categoryRemoteAccess,

	"smtp":        categoryMailServer,
	"smtps":       categoryMailServer,
	"submission":  categoryMailServer,
	"submissions": categoryMailServer,
	"lmtp":        categoryMailServer,
	"imap":        categoryMailServer,
	"imaps":       categoryMailServer,
	"pop3":        categoryMailServer,
	"pop3s":       categoryMailServer,

	"mysql":         categoryDatabase,
	"mysqlx":        categoryDatabase,
	"postgresql":    categoryDatabase,
	"redis":         categoryDatabase,
	"mongodb":       categoryDatabase,
	"mongod":        categoryDatabase,
	"ms-sql-s":      categoryDatabase,
	"ms-sql-m":      categoryDatabase,
	"oracle":        categoryDatabase,
	"oracle-tns":    categoryDatabase,
	"elasticsearch": categoryDatabase,
	"couchdb":       categoryDatabase,
	"cassandra":     categoryDatabase,
	"memcached":     categoryDatabase,
	"ibm-db2":       categoryDatabase,
	"drda":          categoryDatabase, // DB2's wire protocol
	"sybase":        categoryDatabase,
	"gds_db":        categoryDatabase, // Firebird/InterBase
	"influxdb":      categoryDatabase,
	"neo4j":         categoryDatabase,
	"riak":          categoryDatabase,
	"hbase":         categoryDatabase,
}

// category is the category of the product behind service name.
func category(service string) string {
	if c, ok := categoryByService[strings.ToLower(service)]; ok {
		return c
	}
	return categoryServer
}

// osNames are the operating systems recognised in -sV's free text, as word
// sequences (lower case). Earlier entries win where they overlap, so
// multi-word names come first.
var osNames = []struct {
	words []string
	name  string
}{
	{[]string{"red", "hat"}, "Red Hat"},
	{[]string{"mac", "os", "x"}, "macOS"},
	{[]string{"debian"}, "Debian"},
	{[]string{"ubuntu"}, "Ubuntu"},
	{[]string{"centos"}, "CentOS"},
	{[]string{"redhat"}, "Red Hat"},
	{[]string{"rhel"}, "Red Hat"},
	{[]string{"fedora"}, "Fedora"},
	{[]string{"freebsd"}, "FreeBSD"},
	{[]string{"openbsd"}, "OpenBSD"},
	{[]string{"netbsd"}, "NetBSD"},
	{[]string{"windows"}, "Windows"},
	{[]string{"alpine"}, "Alpine"},
	{[]string{"suse"}, "SUSE"},
	{[]string{"opensuse"}, "openSUSE"},
	{[]string{"raspbian"}, "Raspbian"},
	{[]string{"gentoo"}, "Gentoo"},
	{[]string{"macos"}, "macOS"},
	{[]string{"solaris"}, "Solaris"},
	{[]string{"linux"}, "Linux"},
}

// components are what -sV named on a port: the product, with its upstream
// version and the category of its service, then each operating system the
// service revealed (intelligence.md, "Component versions"), in the order
// nmap's attributes name them: version, extrainfo, ostype, cpe:/o:.
func components(s *nmapService) []portolan.Component {
	if s == nil {
		return nil
	}
	upstream, rest := splitVersion(s.Version)
	var out []portolan.Component
	if s.Product != "" {
		out = append(out, portolan.Component{Name: s.Product, Version: upstream, Category: category(s.Name)})
	}
	var oses osList
	oses.addText(rest, true)
	oses.addText(s.ExtraInfo, false)
	oses.addText(s.OSType, false)
	for _, cpe := range s.CPEs {
		oses.addCPE(cpe)
	}
	return append(out, oses...)
}

// splitVersion separates the upstream version from what a distribution added:
// "9.2p1 Debian 2+deb12u10" is 9.2p1 and "Debian 2+deb12u10";
// "7.2.24-0ubuntu0.18.04.7" is 7.2.24 and "-0ubuntu0.18.04.7". A version
// naming no distribution is all upstream ("2.0.8 or later").
func splitVersion(v string) (upstream, rest string) {
	fields := strings.Fields(v)
	cut := len(fields)
	for i, f := range fields {
		if len(namesIn(f)) > 0 {
			cut = i
			break
		}
	}
	upstream = strings.Join(fields[:cut], " ")
	rest = strings.Join(fields[cut:], " ")
	// A package revision glued on with - + or ~ ("-0ubuntu0.18.04.7",
	// "-3+deb9u13") starts at the first separator: a later one cannot
	// be followed by a mark the first is not.
	if i := strings.IndexAny(upstream, "-+~"); i >= 0 && len(packagingMarks(upstream[i:])) > 0 {
		upstream, rest = upstream[:i], strings.TrimSpace(upstream[i:]+" "+rest)
	}
	return upstream, rest
}

// namesIn returns the operating systems named in text, word by word.
func namesIn(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var names []string
	for i := 0; i < len(words); {
		n := 1
		for _, cand := range osNames {
			if i+len(cand.words) <= len(words) && equalWords(words[i:i+len(cand.words)], cand.words) {
				names = append(names, cand.name)
				n = len(cand.words)
				break
			}
		}
		i += n
	}
	return names
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// packagingMarks returns the distributions a package revision carries:
// "0ubuntu0.18.04.7" is Ubuntu's, "deb12u10" Debian's.
func packagingMarks(s string) []string {
	s = strings.ToLower(s)
	var names []string
	if strings.Contains(s, "debian") {
		names = append(names, "Debian")
	} else {
		for i := strings.Index(s, "deb"); i >= 0; {
			if j := i + len("deb"); j < len(s) && s[j] >= '0' && s[j] <= '9' {
				names = append(names, "Debian")
				break
			}
			next := strings.Index(s[i+1:], "deb")
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	if strings.Contains(s, "ubuntu") {
		names = append(names, "Ubuntu")
	}
	return names
}

// osList collects Operating System components, one per name.
type osList []portolan.Component

// add records an operating system; a version, when one is given, fills an
// entry that had none.
func (l *osList) add(name, version string) {
	for i := range *l {
		if (*l)[i].Name == name {
			if (*l)[i].Version == "" {
				(*l)[i].Version = version
			}
			return
		}
	}
	*l = append(*l, portolan.Component{Name: name, Version: version, Category: categoryOperatingSystem})
}

// addText records the operating systems named in free text, and, for the
// rest of a version string, those its package revisions carry. No version
// is read from free text: "Ubuntu Linux" says which, not which release.
func (l *osList) addText(text string, packaging bool) {
	for _, name := range namesIn(text) {
		l.add(name, "")
	}
	if packaging {
		for _, name := range packagingMarks(text) {
			l.add(name, "")
		}
	}
}

// addCPE records the operating system of a cpe:/o:vendor:product:version
// name. The version is taken when it is a release number, and belongs to the
// first system the product names (debian_linux:12 is Debian 12).
func (l *osList) addCPE(cpe string) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(cpe), "cpe:/o:")
	if !ok {
		return
	}
	parts := strings.Split(rest, ":")
	vendor, product, version := parts[0], "", ""
	if len(parts) > 1 {
		product = parts[1]
	}
	if len(parts) > 2 && parts[2] != "" && parts[2][0] >= '0' && parts[2][0] <= '9' {
		version = parts[2]
	}
	for i, name := range namesIn(product) {
		if i == 0 {
			l.add(name, version)
		} else {
			l.add(name, "")
		}
	}
	for _, name := range namesIn(vendor) {
		l.add(name, "")
	}
}
