// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"strings"

	"portolan"
)

// Component categories, in Defender TI's words (intelligence.md §5).
const (
	categoryServer       = "Server"
	categoryRemoteAccess = "Remote Access"
	categoryMailServer   = "Mail Server"
	categoryDatabase     = "Database"
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

// components are what -sV named on a port: the product, with its upstream
// version and the category of its service, then each operating system the
// service revealed (intelligence.md, "Component versions"), in the order
// nmap's attributes name them: version, extrainfo, ostype, cpe:/o:.
func components(s *nmapService) []portolan.Component {
	if s == nil {
		return nil
	}
	upstream, systems := portolan.SplitVersion(s.Version)
	var out []portolan.Component
	if s.Product != "" {
		out = append(out, portolan.Component{Name: s.Product, Version: upstream, Category: category(s.Name)})
	}
	var oses osList
	oses.addAll(systems)
	oses.addAll(portolan.OperatingSystemsIn(s.ExtraInfo))
	oses.addAll(portolan.OperatingSystemsIn(s.OSType))
	for _, cpe := range s.CPEs {
		oses.addCPE(cpe)
	}
	return append(out, oses...)
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
	*l = append(*l, portolan.Component{Name: name, Version: version, Category: portolan.CategoryOperatingSystem})
}

// addAll records operating systems as add does.
func (l *osList) addAll(systems []portolan.Component) {
	for _, c := range systems {
		l.add(c.Name, c.Version)
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
	for i, c := range portolan.OperatingSystemsIn(product) {
		if i == 0 {
			l.add(c.Name, version)
		} else {
			l.add(c.Name, "")
		}
	}
	l.addAll(portolan.OperatingSystemsIn(vendor))
}
