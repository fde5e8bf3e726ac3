// SPDX-License-Identifier: Apache-2.0

// Package fingerprint recognises software from what a port shows: banners
// (HTTP response heads, SSH identification strings, FTP/SMTP/POP3/IMAP
// greetings, database handshakes, ...) and TLS certificates. Its *Rules
// implement portolan.Recognizer, which the stores call when they merge
// observations into records (intelligence.md §5), so that a rebuild applies
// the current rules.
//
// The rules are data: one JSON file, rules.json, embedded in the binary and
// returned by Default. Load compiles another file of the same format.
//
// # Rule file
//
// The file is one JSON object with two members: "comment", an array of
// strings that Load ignores (JSON has no comments, and the file should
// explain itself), and "rules", an array of rules. Unknown members are
// errors, so a misspelt field cannot be silently ignored. A rule is:
//
//	{
//	  "id": "http-server-microsoft-iis",
//	  "target": "header:Server",
//	  "keywords": ["microsoft-iis"],
//	  "pattern": "^Microsoft-IIS(?:/([0-9]+(?:[.][0-9]+)*))?",
//	  "unless": [],
//	  "component": {"name": "Microsoft-IIS", "version": "$1", "category": "Server",
//	                "aliases": ["Microsoft IIS httpd"]},
//	  "extra": [{"name": "Windows", "version": "", "category": "Operating System"}],
//	  "cases": [
//	    {"banner": "HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\n\r\n",
//	     "want": [{"name": "Microsoft-IIS", "version": "10.0", "category": "Server"},
//	              {"name": "Windows", "version": "", "category": "Operating System"}]}
//	  ]
//	}
//
// Its members:
//
//   - id: unique name of the rule, for errors and test output.
//   - target: the text the pattern is applied to. "banner" is the whole
//     banner. "header:NAME" is the value of each HTTP header field called
//     NAME (case ignored) in the head of the banner, which ends at the first
//     blank line; lines may end in CRLF, LF or the escaped `\x0d\x0a` of
//     masscan's output, and a banner may be a single "Server: nginx" line.
//     "certificate:subject/FIELD" and "certificate:issuer/FIELD" are a field
//     of the observation's certificate, FIELD being commonName,
//     organizationName or organizationUnitName (the names of
//     portolan.SSLCertificateEntity); several values of a field are joined
//     with ", " as ParseCertificate does.
//   - keywords: one or more literals, ASCII case ignored, at least one of
//     which must occur in the banner (for banner and header rules; the whole
//     banner, so a header's name is a fine keyword) or in the certificate
//     field for the rule to be tried. This is the prefilter that keeps
//     regexps off the hot path: all keywords of all rules are found in one
//     pass over the banner, and only the rules they name run their regexp.
//     A keyword that the pattern does not imply makes the rule dead; the
//     rule's cases catch that.
//   - pattern: a Go regexp (RE2 syntax), applied to the target text; the
//     first match counts, and a header field that repeats is matched once
//     per occurrence. A pattern over the whole banner must start with a
//     literal or with ^ (the package test checks): Go's regexp then jumps
//     from one occurrence of the literal to the next, or tries only the
//     start, instead of running its automaton over all of a 16 KiB banner. Writing [.] and [0-9] instead of \. and \d keeps
//     the JSON free of double backslashes; a literal backslash, as in the
//     `\xNN` escapes Portolan writes for non-UTF-8 bytes and NUL, is \\\\ in
//     the JSON.
//   - unless: optional literals, ASCII case ignored; when the target text
//     contains one, the rule does not match (RE2 has no negative lookahead:
//     this is how the MySQL rule stays off MariaDB handshakes).
//   - component: what the rule yields. version is a regexp.Expand template
//     over the match ("$1" is the first capture group; an optional group
//     that did not take part gives ""), and must give the upstream version
//     only ("OpenSSH_9.2p1 Debian-2+deb12u10" gives 9.2p1); it may be empty.
//     aliases are other names the same product goes by in scanners' output
//     (nmap's and Shodan's product names, "Apache httpd" for "Apache"): a
//     scanner component with such a name suppresses the rule's, as one with
//     the rule's own name does.
//   - extra: optional further components of the same shape, yielded
//     whenever the rule matches (Microsoft-IIS implies Windows).
//   - cases: at least one test case. A case has a banner or a certificate
//     (an object with "subject" and "issuer", each with commonName,
//     organizationName and organizationUnitName; the test builds a
//     certificate from it) and want, the complete and exact list of
//     components Recognize returns for an observation carrying only that
//     (in any order). Because want is the whole result, a case also
//     guards against other rules firing where they should not. The package
//     test runs every case of every rule, and Load refuses a rule without
//     one.
//
// Load also refuses an unknown target or category, a version template that
// names a missing capture group, and duplicate ids.
//
// # Names and categories
//
// Component names follow what Defender TI shows: the token the software
// announces, spelt as the software spells it (nginx, Microsoft-IIS, OpenSSH,
// Apache, Apache-Coyote, lighttpd, envoy, gunicorn, AkamaiGHost), and for
// software that announces no token (database handshakes, mail greetings,
// operating systems) the product's own name (MySQL, PostgreSQL, Postfix,
// Microsoft Exchange, Debian, Red Hat Enterprise Linux). The name is fixed
// by the rule, never copied from the banner, so that "Server: NGINX" and
// "Server: nginx" give one component.
//
// Categories are Defender TI's words, and Load accepts only these:
//
//   - Server: web, FTP and application servers
//   - Remote Access: SSH, VNC and the like
//   - Operating System: the OS or firmware a banner or certificate shows;
//     version empty unless the banner states one ("Debian GNU/Linux 12",
//     "Cisco IOS ... Version 15.2(4)E7"); a package suffix such as
//     "+deb12u10" or "4ubuntu0.5" names the distribution but not its
//     release, so it gives no version
//   - Framework: languages, runtimes, libraries and web frameworks (PHP,
//     ASP.NET, Express, Python, OpenSSL)
//   - Database
//   - Mail Server
//   - Message Broker
//   - Cache: memory caches and caching proxies (Memcached, Varnish, Squid)
//   - Load Balancer: reverse proxies and ingress (HAProxy, envoy, Traefik)
//   - CDN
//
// # Alias file
//
// aliases.json gives each product one canonical name and category, and the
// names scanners give it. It is one JSON object with "comment" (ignored) and
// "products", each:
//
//		{"name": "MariaDB", "category": "Database",
//		 "aliases": ["MariaDB Server"],
//		 "cpe": ["mariadb:mariadb"],
//		 "claims": [{"name": "MySQL", "pattern": "^5[.]5[.]5-([0-9]+(?:[.][0-9]+)*)", "version": "$1"}],
//		 "cases": [{"scanner": {"name": "MySQL", "version": "5.5.5-10.11.19-MariaDB", "category": "Database"},
//		            "want": {"name": "MariaDB", "version": "10.11.19", "category": "Database"}}]}
//
//	  - name, category: the canonical component; the category replaces
//	    whatever category the scanner gave.
//	  - aliases: other names (nmap's and Shodan's product names), ASCII case
//	    ignored. The rules' own component names and aliases join the table;
//	    a name that belongs to two products is a load error.
//	  - cpe: vendor:product pairs; a scanner component named by a CPE
//	    (cpe:/a:vendor:product:version or cpe:2.3:a:vendor:product:version:…)
//	    is the product, with the CPE's version when it has no other.
//	  - claims: a scanner component with that name whose version matches
//	    pattern is this product, with version the expansion of the template
//	    (MariaDB behind MySQL's "5.5.5-" prefix), or no version where the
//	    scanner's names no release (nmap's fixed "Samba smbd 4.6.2" for any
//	    Samba that refuses SMBv1, its "NTP v4", the protocol's version).
//	    Claims are tried first.
//	  - cases: at least one; the package test checks that an observation
//	    carrying only the scanner component is recognised as exactly want, and
//	    that every alias, CPE pair and claim is the scanner side of a case.
//
// # Recognize
//
// Recognize merges the scanner's components with the rules' as described
// on (*Rules).Recognize: every component takes its canonical name, the
// scanner wins on a shared product, a versionless component gives way to a
// versioned one of the same name and category, a generic Linux to a
// distribution, duplicates go, and the result is sorted by name, version and
// category, so that it is a pure function of the observation.
package fingerprint
