// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/httpapi"
)

// searchCollections are the collections `portolan search` reads, with the
// columns of its table when --select is not given.
var searchCollections = map[string][]string{
	"hostPorts":       {"host", "port", "status", "product", "lastSeenDateTime", "certificateExpires"},
	"hosts":           {"id", "kind", "firstSeenDateTime", "lastSeenDateTime"},
	"sslCertificates": {"sha1", "subject", "issuer", "expirationDateTime", "lastSeenDateTime"},
}

// runSearch is `portolan search`: an estate-wide $filter against the data
// directory, a PostgreSQL store or a running server. Local stores are read
// through an in-process API server, so that the filter, the errors, the
// JSON and the paging are exactly the API's.
func runSearch(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	server := fs.String("server", env.Getenv("PORTOLAN_SERVER"), "URL of a running portolan serve (https://host:8443) instead of a local store (env PORTOLAN_SERVER)")
	token := fs.String("token", "", "bearer token for --server (default: env PORTOLAN_TOKEN)")
	collection := fs.String("collection", "hostPorts", "what to search: hostPorts, hosts or sslCertificates")
	selectList := fs.String("select", "", "comma-separated properties to show ($select), e.g. port,status,services")
	orderBy := fs.String("orderby", "", "ordering ($orderby), e.g. 'lastSeenDateTime desc'")
	output := fs.String("output", "", "table, json (one JSON object per line) or csv (default: table on a terminal, json otherwise)")
	limit := fs.Int("limit", 0, "stop after this many items (0: all)")
	pageSize := fs.Int("page-size", 500, "items per request (1-1000)")
	countOnly := fs.Bool("count", false, "print only the number of matching items")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan search [flags] [FILTER]

Searches the whole estate with an OData $filter, the grammar of the API
(search-and-changes.md §2), and follows the pages by itself. Without FILTER
every item is listed.

Examples:
  portolan search "services/any(s: s/component/name eq 'Apache httpd' and s/component/version lt '2.4.60')"
  portolan search "firstSeenDateTime ge 2026-12-02T00:00:00Z" --orderby "firstSeenDateTime desc"
  portolan search "mostRecentSslCertificate/expirationDateTime lt 2027-01-01T00:00:00Z"
  portolan search "port eq 3389 and portolan.inSubnet(host/id, '10.20.0.0/16')" --output csv
  portolan search "banners/any(b: contains(b/banner, 'vsftpd'))" --server https://portolan:8443 --count
  portolan search --collection hosts "portolan.inSubnet(id, '192.0.2.0/24')"
  portolan search --collection sslCertificates "expirationDateTime lt 2027-01-01T00:00:00Z" --orderby expirationDateTime

Flags:
`)
		fs.PrintDefaults()
	}
	// Flags may come before or after the filter.
	var positional []string
	for {
		if err := cli.ParseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) > 1 {
		return fmt.Errorf("search takes one FILTER argument; quote it as one (got %d: %q): %w", len(positional), positional, cli.ErrUsage)
	}
	filterText := ""
	if len(positional) == 1 {
		filterText = positional[0]
	}
	columns, ok := searchCollections[*collection]
	if !ok {
		return fmt.Errorf("--collection %q: use hostPorts, hosts or sslCertificates: %w", *collection, cli.ErrUsage)
	}
	if *pageSize < 1 || *pageSize > 1000 {
		return fmt.Errorf("--page-size %d: use 1 to 1000: %w", *pageSize, cli.ErrUsage)
	}
	format := *output
	if format == "" {
		format = "json"
		if cli.IsTerminal(env.Stdout) {
			format = "table"
		}
	}
	if format != "table" && format != "json" && format != "csv" {
		return fmt.Errorf("--output %q: use table, json or csv: %w", format, cli.ErrUsage)
	}

	client, base, closeFn, err := searchClient(ctx, env, stores, *server, *token)
	if err != nil {
		return err
	}
	defer closeFn()

	query := url.Values{}
	if filterText != "" {
		query.Set("$filter", filterText)
	}
	if *countOnly {
		body, err := getAPI(ctx, client, base+*collection+"/$count?"+query.Encode(), *token, env)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", bytes.TrimSpace(body))
		return nil
	}
	if *orderBy != "" {
		query.Set("$orderby", *orderBy)
	}
	if *selectList != "" {
		query.Set("$select", *selectList)
		columns = strings.Split(*selectList, ",")
		for i := range columns {
			columns[i] = strings.TrimSpace(columns[i])
		}
	} else if *collection == "hostPorts" && format != "json" {
		// Only what the table shows, and the certificate's expiry.
		query.Set("$select", "port,protocol,status,lastSeenDateTime,services,host")
		query.Set("$expand", "mostRecentSslCertificate($select=expirationDateTime)")
	}
	query.Set("$top", fmt.Sprint(*pageSize))

	out := newSearchWriter(env.Stdout, format, columns)
	next := base + *collection + "?" + query.Encode()
	written := 0
	for next != "" {
		body, err := getAPI(ctx, client, next, *token, env)
		if err != nil {
			return err
		}
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("search: the server's answer is not a Graph collection: %w", err)
		}
		for _, item := range page.Value {
			if *limit > 0 && written >= *limit {
				return out.Flush()
			}
			if err := out.Write(item); err != nil {
				return err
			}
			written++
		}
		next = page.NextLink
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if format == "table" && env.Interactive {
		fmt.Fprintf(env.Stderr, "%d %s\n", written, plural(written, "item", "items"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// searchClient returns an HTTP client and the base URL of the
// threatIntelligence collections: the server's, or an in-process server
// over the local store.
func searchClient(ctx context.Context, env *cli.Env, stores *storeFlags, server, token string) (*http.Client, string, func(), error) {
	if server != "" {
		u, err := url.Parse(server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, "", nil, fmt.Errorf("--server %q is not an http(s) URL such as https://portolan.example:8443: %w", server, cli.ErrUsage)
		}
		client := &http.Client{Timeout: 2 * time.Minute}
		return client, strings.TrimSuffix(server, "/") + "/beta/security/threatIntelligence/", func() {}, nil
	}
	store, err := stores.Open(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, "", nil, err
	}
	key := make([]byte, httpapi.MinSkipTokenKeyLen)
	rand.Read(key)
	api, err := httpapi.New(httpapi.Config{
		HostPorts: store, Hosts: store, Certificates: store,
		Verifier:     localReader{},
		SkipTokenKey: key,
	})
	if err != nil {
		store.Close()
		return nil, "", nil, err
	}
	client := &http.Client{Transport: handlerTransport{api}}
	return client, "http://portolan.local/beta/security/threatIntelligence/", func() { store.Close() }, nil
}

// localReader lets the command's own in-process requests read the store it
// opened: whoever can open the store files can read them anyway.
type localReader struct{}

func (localReader) VerifyToken(context.Context, string) (*portolan.Principal, error) {
	return &portolan.Principal{Subject: "portolan-search", Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, nil
}

// handlerTransport answers requests with an http.Handler in-process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// getAPI GETs target and returns the body of a 200, or the Graph error's
// message.
func getAPI(ctx context.Context, client *http.Client, target, token string, env *cli.Env) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	if token == "" {
		token = env.Getenv("PORTOLAN_TOKEN")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var graph struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &graph) == nil && graph.Error.Message != "" {
			if resp.StatusCode == http.StatusUnauthorized {
				return nil, fmt.Errorf("%s (%s): pass a token with --token or PORTOLAN_TOKEN (portolan token prints one)", graph.Error.Message, graph.Error.Code)
			}
			return nil, errors.New(graph.Error.Message)
		}
		return nil, fmt.Errorf("search: %s answered %s", req.URL.Host, resp.Status)
	}
	return body, nil
}

// searchWriter writes items as JSON lines, CSV or an aligned table.
type searchWriter struct {
	format  string
	columns []string
	json    io.Writer
	csv     *csv.Writer
	table   *tabwriter.Writer
}

func newSearchWriter(w io.Writer, format string, columns []string) *searchWriter {
	s := &searchWriter{format: format, columns: columns}
	switch format {
	case "json":
		s.json = w
	case "csv":
		s.csv = csv.NewWriter(w)
		s.csv.Write(columns)
	default:
		s.table = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(s.table, strings.ToUpper(strings.Join(columns, "\t")))
	}
	return s
}

func (s *searchWriter) Write(item json.RawMessage) error {
	if s.json != nil {
		var compact bytes.Buffer
		if err := json.Compact(&compact, item); err != nil {
			return err
		}
		compact.WriteByte('\n')
		_, err := s.json.Write(compact.Bytes())
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(item, &m); err != nil {
		return err
	}
	cells := make([]string, len(s.columns))
	for i, c := range s.columns {
		cells[i] = cell(m, c)
	}
	if s.csv != nil {
		return s.csv.Write(cells)
	}
	for i := range cells {
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(cells[i])
	}
	_, err := fmt.Fprintln(s.table, strings.Join(cells, "\t"))
	return err
}

func (s *searchWriter) Flush() error {
	switch {
	case s.csv != nil:
		s.csv.Flush()
		return s.csv.Error()
	case s.table != nil:
		return s.table.Flush()
	}
	return nil
}

// cell renders one column of an item: the derived columns of the default
// table, or a property as text.
func cell(m map[string]any, column string) string {
	switch column {
	case "host":
		if h, ok := m["host"].(map[string]any); ok {
			return fmt.Sprint(h["id"])
		}
	case "port":
		if p, ok := m["port"].(float64); ok {
			proto, _ := m["protocol"].(string)
			if proto == "" {
				proto = "tcp"
			}
			return fmt.Sprintf("%d/%s", int(p), proto)
		}
	case "kind":
		t, _ := m["@odata.type"].(string)
		return strings.TrimPrefix(t, "#microsoft.graph.security.")
	case "product":
		services, _ := m["services"].([]any)
		var names []string
		for _, s := range services {
			svc, _ := s.(map[string]any)
			c, _ := svc["component"].(map[string]any)
			if c == nil {
				continue
			}
			name := strings.TrimSpace(fmt.Sprint(c["name"]) + " " + stringOf(c["version"]))
			if !contains(names, name) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		return strings.Join(names, ", ")
	case "subject", "issuer":
		if e, ok := m[column].(map[string]any); ok {
			return stringOf(e["commonName"])
		}
		return ""
	case "certificateExpires":
		if c, ok := m["mostRecentSslCertificate"].(map[string]any); ok {
			return stringOf(c["expirationDateTime"])
		}
		return ""
	}
	v, ok := m[column]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	if f, ok := v.(float64); ok {
		return fmt.Sprint(int64(f))
	}
	data, _ := json.Marshal(v)
	return string(data)
}

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
