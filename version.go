// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"strings"
	"unicode"
)

// CategoryOperatingSystem is the category of an operating-system component,
// in Defender TI's words (intelligence.md §5). It is named here because the
// domain, not a scanner, decides what an Operating System component is.
const CategoryOperatingSystem = "Operating System"

// systemNames are the operating systems recognised in version strings and
// in scanners' free text, as word sequences (lower case). Earlier entries
// win where they overlap, so multi-word names come first. A name with a
// release glued on ("centos7", "amzn2") is still the name: Shodan writes
// them so.
var systemNames = []struct {
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
	{[]string{"almalinux"}, "AlmaLinux"},
	{[]string{"rocky"}, "Rocky Linux"},
	{[]string{"amzn"}, "Amazon Linux"},
	{[]string{"photon"}, "Photon OS"},
	{[]string{"macos"}, "macOS"},
	{[]string{"solaris"}, "Solaris"},
	{[]string{"linux"}, "Linux"},
}

// SplitVersion separates the upstream version from what a distribution
// added, as intelligence.md §1 "Component versions" asks:
// "9.2p1 Debian 2+deb12u10" is 9.2p1 on Debian, "7.2.24-0ubuntu0.18.04.7"
// is 7.2.24 on Ubuntu, "9.16.48-Ubuntu" is 9.16.48 on Ubuntu. systems are
// the Operating System components the rest names, in order, each once and
// without a version: a package revision says which distribution built the
// package, not which release runs it. A version naming no system is all
// upstream ("2.0.8 or later").
//
// A MySQL-protocol version naming MariaDB keeps that name and what precedes
// it ("5.5.5-10.11.19-MariaDB-0+deb12u1" is "5.5.5-10.11.19-MariaDB" on
// Debian): the "5.5.5-" prefix is what MariaDB sends to old clients, and
// without the rest the version would name a MySQL release that is not
// running. The component recognition (internal/fingerprint, aliases.json)
// reads it as MariaDB 10.11.19.
func SplitVersion(version string) (upstream string, systems []Component) {
	if i := strings.Index(strings.ToLower(version), mariaDBMark); i > 0 && !strings.ContainsAny(version[:i], " \t") {
		end := i + len(mariaDBMark)
		// "0" stands for the upstream part, so that the rest is read as
		// a package revision.
		_, systems = SplitVersion("0" + version[end:])
		return version[:end], systems
	}
	fields := strings.Fields(version)
	// Words are matched across fields, so that "(Red Hat Enterprise
	// Linux)" is Red Hat where it starts, not Linux where it ends.
	var words []string
	var fieldOf, firstWord []int
	for i, f := range fields {
		firstWord = append(firstWord, len(words))
		for _, w := range wordsOf(f) {
			words = append(words, w)
			fieldOf = append(fieldOf, i)
		}
	}
	cut, head := len(fields), ""
	if m := matchNames(words); len(m) > 0 {
		cut = fieldOf[m[0].start]
		// A name glued on after the release ("9.16.48-Ubuntu",
		// "7.4p1-Debian-10") leaves the release upstream.
		f := fields[cut]
		if j := strings.IndexAny(f, "-+~"); j > 0 && m[0].start-firstWord[cut] >= len(wordsOf(f[:j])) {
			head, fields[cut] = f[:j], f[j:]
		}
	}
	kept := fields[:cut:cut]
	if head != "" {
		kept = append(kept, head)
	}
	upstream = strings.Join(kept, " ")
	rest := strings.Join(fields[cut:], " ")
	// A package revision glued on with - + or ~ ("-0ubuntu0.18.04.7",
	// "-3+deb9u13") starts at the first separator: a later one cannot be
	// followed by a mark the first is not.
	if i := strings.IndexAny(upstream, "-+~"); i >= 0 && len(packagingMarks(upstream[i:])) > 0 {
		upstream, rest = upstream[:i], strings.TrimSpace(upstream[i:]+" "+rest)
	}
	systems = systemComponents(append(namesIn(rest), packagingMarks(rest)...))
	return upstream, systems
}

// mariaDBMark ends the upstream part of a MariaDB server's version string.
const mariaDBMark = "-mariadb"

// OperatingSystemsIn returns the Operating System components named in free
// text (a scanner's extra information or OS type, a CPE product, a banner's
// words), in order, each once. No version is read from free text: "Ubuntu
// Linux" says which system, not which release.
func OperatingSystemsIn(text string) []Component {
	return systemComponents(namesIn(text))
}

// systemComponents makes one Operating System component per distinct name.
func systemComponents(names []string) []Component {
	var out []Component
	for _, name := range names {
		dup := false
		for _, c := range out {
			dup = dup || c.Name == name
		}
		if !dup {
			out = append(out, Component{Name: name, Category: CategoryOperatingSystem})
		}
	}
	return out
}

// namesIn returns the operating systems named in text, with repeats.
func namesIn(text string) []string {
	var names []string
	for _, m := range matchNames(wordsOf(text)) {
		names = append(names, m.name)
	}
	return names
}

// wordsOf splits text into lower-case words of letters and digits, the
// units systemNames are spelt in.
func wordsOf(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// nameMatch is one operating system found in a word list, and the index of
// its first word.
type nameMatch struct {
	name  string
	start int
}

// matchNames finds the operating systems in words, left to right, each
// word in at most one name.
func matchNames(words []string) []nameMatch {
	var out []nameMatch
	for i := 0; i < len(words); {
		n := 1
		for _, cand := range systemNames {
			if i+len(cand.words) <= len(words) && wordsAre(words[i:i+len(cand.words)], cand.words) {
				out = append(out, nameMatch{cand.name, i})
				n = len(cand.words)
				break
			}
		}
		i += n
	}
	return out
}

// wordsAre reports whether words spell name, each word allowed a release
// number glued to its end ("centos7" is centos).
func wordsAre(words, name []string) bool {
	for i := range words {
		rest, ok := strings.CutPrefix(words[i], name[i])
		if !ok || strings.TrimLeft(rest, "0123456789") != "" {
			return false
		}
	}
	return true
}

// packagingMarks returns the distributions a package revision carries:
// "0ubuntu0.18.04.7" is Ubuntu's, "deb12u10" Debian's. They are not words
// of their own, so namesIn does not see them.
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
