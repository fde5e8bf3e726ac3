// SPDX-License-Identifier: Apache-2.0

package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"portolan"
)

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"search", "host", "certificate", "changes", "signin", "moving", "error"}

// parsePages parses every page with the layout. html/template escapes each
// value by its context (text, attribute, URL, inside the SVG), which is what
// keeps hostile scan data inert; nothing is ever marked template.HTML.
func parsePages(now func() time.Time) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"fmtTime":      fmtTime,
		"isoTime":      isoTime,
		"hostURL":      hostURL,
		"portAnchor":   ownAnchor,
		"certURL":      certURL,
		"componentURL": componentURL,
		"searchURL":    func(filter, orderBy string) string { return searchURL(filter, orderBy, "") },
		"expiry":       func(c *portolan.SSLCertificate) expiry { return expiryOf(c, now()) },
		"plural":       plural,
		"odataString":  odataString,
		"join":         strings.Join,
		"add":          func(a, b int) int { return a + b },
		"add1":         func(a, b float64) float64 { return a + b },
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// fmtTime is a time as the pages show it (UTC, to the minute), "never" for
// a zero time (null).
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// isoTime is the machine-readable time of a <time> element.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func hostURL(id string) string { return "/hosts/" + url.PathEscape(id) }

func certURL(id string) string { return "/certificates/" + url.PathEscape(id) }

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// componentURL searches the estate for a component, by name and, when
// given, version.
func componentURL(name, version string) string {
	f := "s/component/name eq " + odataString(name)
	if version != "" {
		f += " and s/component/version eq " + odataString(version)
	}
	return searchURL("services/any(s: "+f+")", "", "")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
