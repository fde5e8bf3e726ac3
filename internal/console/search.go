// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"portolan"
)

// searchPageSize is the number of rows of a search page.
const searchPageSize = 100

// column is a header of the results table; Key is its $orderby property,
// empty when the column cannot be sorted (products are a collection).
type column struct {
	Label string
	Key   string
}

var searchColumns = []column{
	{"Host", "host/id"},
	{"Port", "port"},
	{"Status", "status"},
	{"Product and version", ""},
	{"Certificate expiry", "mostRecentSslCertificate/expirationDateTime"},
	{"Last seen", "lastSeenDateTime"},
}

// header is a column as the page shows it: its sort link and state.
type header struct {
	column
	SortURL string
	// Sort is the aria-sort value: ascending, descending or none.
	Sort string
}

// example is an analyst's question and the filter that answers it.
type example struct {
	Question string
	Filter   string
	OrderBy  string
}

// examples are computed per request: some name dates relative to now.
func examples(now time.Time) []example {
	day := func(d int) string { return now.AddDate(0, 0, d).UTC().Format("2006-01-02") + "T00:00:00Z" }
	return []example{
		{"Where does Apache below 2.4.60 still run?", "services/any(s: s/component/name eq 'Apache' and s/component/version lt '2.4.60')", ""},
		{"Which ports opened in the last 7 days, newest first?", "firstSeenDateTime ge " + day(-7), "firstSeenDateTime desc"},
		{"What answers on 3389 inside 10.0.0.0/8?", "port eq 3389 and portolan.inSubnet(host/id, '10.0.0.0/8')", ""},
		{"Which SSH services still announce OpenSSH 7?", "banners/any(b: b/scanProtocol eq 'ssh' and contains(b/banner, 'OpenSSH_7'))", ""},
		{"Which certificates expire in the next 30 days?", "mostRecentSslCertificate/expirationDateTime lt " + day(30), "mostRecentSslCertificate/expirationDateTime"},
		{"Which ports are no longer open?", "status ne 'open'", "lastScanDateTime desc"},
	}
}

type searchPage struct {
	page
	Filter, OrderBy string
	// Error is the parser's positioned message for a filter that does
	// not parse; the page then shows no results.
	Error    string
	Examples []example
	Headers  []header
	Rows     []searchRow
	Total    int
	// NextURL continues after the last row; FirstURL returns to the start
	// of a search that was paged on.
	NextURL, FirstURL, CSVURL string
}

// searchRow is one hostPort with its certificate, when it has one.
type searchRow struct {
	Port *portolan.HostPort
	Cert *portolan.SSLCertificate
}

// cursor is a page position bound to the search it belongs to, signed so
// that a position is never replayed under another filter or ordering.
type cursor struct {
	Filter  string `json:"f"`
	OrderBy string `json:"o"`
	Next    string `json:"n"`
}

func (c *Console) signCursor(filter, orderBy, next string) string {
	payload, _ := json.Marshal(cursor{filter, orderBy, next})
	return c.sessions.sign("cursor", payload)
}

func (c *Console) openCursor(filter, orderBy, value string) (string, error) {
	payload, ok := c.sessions.open("cursor", value)
	var cur cursor
	if !ok || json.Unmarshal(payload, &cur) != nil || cur.Filter != filter || cur.OrderBy != orderBy {
		return "", portolan.Errorf(portolan.EINVALID, "This page link belongs to another search; start from the first page.")
	}
	return cur.Next, nil
}

// searchURL is the console's address of a search.
func searchURL(filter, orderBy, after string) string {
	v := url.Values{}
	if filter != "" {
		v.Set("filter", filter)
	}
	if orderBy != "" {
		v.Set("orderby", orderBy)
	}
	if after != "" {
		v.Set("after", after)
	}
	if len(v) == 0 {
		return "/search"
	}
	return "/search?" + v.Encode()
}

// parseSearch reads the filter, ordering and cursor of a request.
func (c *Console) parseSearch(r *http.Request) (filter, orderBy string, q portolan.SearchQuery, err error) {
	v := r.URL.Query()
	filter, orderBy = strings.TrimSpace(v.Get("filter")), strings.TrimSpace(v.Get("orderby"))
	q, err = c.cfg.ParseSearch(filter, orderBy)
	if err != nil {
		return filter, orderBy, q, err
	}
	if after := v.Get("after"); after != "" {
		if q.After, err = c.openCursor(filter, orderBy, after); err != nil {
			return filter, orderBy, q, err
		}
	}
	return filter, orderBy, q, nil
}

func (c *Console) serveSearch(w http.ResponseWriter, r *http.Request) error {
	filter, orderBy, q, err := c.parseSearch(r)
	p := &searchPage{page: c.pageFor(r, "Search"), Filter: filter, OrderBy: orderBy, Examples: examples(c.now())}
	p.Nav = "search"
	p.Headers = sortHeaders(filter, orderBy)
	if err != nil {
		if portolan.ErrorCode(err) != portolan.EINVALID {
			return err
		}
		// A client's mistake: the page again, with the parser's message.
		p.Error = portolan.ErrorMessage(err)
		c.render(w, r, http.StatusBadRequest, "search", p)
		return nil
	}
	q.Top, q.Count = searchPageSize, true
	res, err := c.cfg.Search.SearchHostPorts(r.Context(), q)
	if err != nil {
		if portolan.ErrorCode(err) == portolan.EINVALID {
			p.Error = portolan.ErrorMessage(err)
			c.render(w, r, http.StatusBadRequest, "search", p)
			return nil
		}
		return err
	}
	p.Total = res.Total
	if p.Rows, err = c.withCertificates(r.Context(), res.Items); err != nil {
		return err
	}
	if res.Next != "" {
		p.NextURL = searchURL(filter, orderBy, c.signCursor(filter, orderBy, res.Next))
	}
	if q.After != "" {
		p.FirstURL = searchURL(filter, orderBy, "")
	}
	csvQuery := url.Values{}
	if filter != "" {
		csvQuery.Set("filter", filter)
	}
	if orderBy != "" {
		csvQuery.Set("orderby", orderBy)
	}
	p.CSVURL = "/search.csv"
	if len(csvQuery) > 0 {
		p.CSVURL += "?" + csvQuery.Encode()
	}
	c.render(w, r, http.StatusOK, "search", p)
	return nil
}

// sortHeaders makes each sortable column a link that sorts by it, ascending
// first and descending when it is already sorted ascending.
func sortHeaders(filter, orderBy string) []header {
	key, dir, _ := strings.Cut(orderBy, " ")
	dir = strings.TrimSpace(dir)
	hs := make([]header, len(searchColumns))
	for i, col := range searchColumns {
		hs[i] = header{column: col, Sort: "none"}
		if col.Key == "" {
			continue
		}
		next := col.Key
		if key == col.Key {
			if dir == "desc" {
				hs[i].Sort = "descending"
			} else {
				hs[i].Sort = "ascending"
				next += " desc"
			}
		}
		hs[i].SortURL = searchURL(filter, next, "")
	}
	return hs
}

// withCertificates pairs each port with its most recent certificate, read
// once per distinct certificate.
func (c *Console) withCertificates(ctx context.Context, ports []*portolan.HostPort) ([]searchRow, error) {
	certs := map[string]*portolan.SSLCertificate{}
	rows := make([]searchRow, len(ports))
	for i, hp := range ports {
		rows[i].Port = hp
		id := hp.MostRecentSSLCertificateID
		if id == "" {
			continue
		}
		cert, ok := certs[id]
		if !ok {
			var err error
			cert, err = c.cfg.Certificates.FindSSLCertificateByID(ctx, id)
			if err != nil && portolan.ErrorCode(err) != portolan.ENOTFOUND {
				return nil, err
			}
			certs[id] = cert
		}
		rows[i].Cert = cert
	}
	return rows, nil
}

// csvExportPage is how many rows the export reads per store call.
const csvExportPage = 1000

// serveSearchCSV writes every match of a search as CSV, page by page, so
// that memory does not grow with the export.
func (c *Console) serveSearchCSV(w http.ResponseWriter, r *http.Request) error {
	_, _, q, err := c.parseSearch(r)
	if err != nil {
		return err
	}
	q.Top, q.After = csvExportPage, ""
	first, err := c.cfg.Search.SearchHostPorts(r.Context(), q)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="portolan-search.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"host", "port", "protocol", "status", "products", "certificate", "certificateExpiry", "firstSeen", "lastSeen", "lastScan"})
	res := first
	for {
		rows, err := c.withCertificates(r.Context(), res.Items)
		if err != nil {
			return nil // the header is out; the log has the request's status
		}
		for _, row := range rows {
			hp := row.Port
			var certID, expiry string
			if row.Cert != nil {
				certID, expiry = row.Cert.ID, csvTime(row.Cert.ExpirationDateTime)
			}
			_ = cw.Write(csvSafe([]string{hp.Host, strconv.Itoa(hp.Port), string(hp.Protocol), string(hp.Status), productsText(hp.Services),
				certID, expiry, csvTime(hp.FirstSeenDateTime), csvTime(hp.LastSeenDateTime), csvTime(hp.LastScanDateTime)}))
		}
		if res.Next == "" {
			break
		}
		q.After = res.Next
		if res, err = c.cfg.Search.SearchHostPorts(r.Context(), q); err != nil {
			break
		}
	}
	cw.Flush()
	return nil
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: scanned
// data (a hostname, a product name) may start with = + - @ on purpose.
func csvSafe(cells []string) []string {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cells
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// productsText is a port's components as "name version; name version".
func productsText(services []portolan.HostPortComponent) string {
	parts := make([]string, 0, len(services))
	for _, s := range services {
		parts = append(parts, strings.TrimSpace(s.Component.Name+" "+s.Component.Version))
	}
	return strings.Join(parts, "; ")
}
