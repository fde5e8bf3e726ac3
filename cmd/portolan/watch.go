// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/httpapi"
)

// runWatch is `portolan watch`: it follows the delta of hostPorts
// (search-and-changes.md §4) and prints each change as one line. A local
// store is read through an in-process API server, as `portolan search`
// does, so that there is one code path: the deltaLink kept in the state
// file is the API's, whatever the source.
//
// Delta pages carry an item's current state, not what it was: the state
// file keeps, per port, what a line compares with (status, banners,
// services, certificate), besides the deltaLink. Lines are printed before
// the state is saved, so a crash between the two shows a change again
// rather than never: a cron job sees every change at least once, and once
// when nothing fails.
func runWatch(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	server := fs.String("server", env.Getenv("PORTOLAN_SERVER"), "URL of a running portolan serve instead of a local store (env PORTOLAN_SERVER)")
	token := fs.String("token", "", "bearer token for --server (default: env PORTOLAN_TOKEN)")
	filter := fs.String("filter", "", "watch only the hostPorts matching this OData $filter (as portolan search takes it)")
	output := fs.String("output", "text", "text (one readable line per change) or json (one JSON object per line)")
	stateFile := fs.String("state", "portolan-watch.json", "file keeping the deltaLink and what each port looked like, so that the next run resumes")
	follow := fs.Duration("follow", 0, "keep running, following the delta at this interval (0: one round, for cron)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan watch [flags]

Prints what changed on the estate's ports since the last run: ports that
opened, closed or became filtered, new banners, service versions that moved
(nginx 1.22.1 -> 1.24.0), rotated certificates. The first run records the
current state and prints nothing; each later run prints the changes since.

Examples:
  portolan watch --state /var/lib/portolan/watch.json            # from cron
  portolan watch --filter "portolan.inSubnet(host/id, '10.0.0.0/8')" --follow 5m
  portolan watch --server https://portolan:8443 --output json

Flags:
`)
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("watch takes no arguments (got %q); give the filter with --filter: %w", fs.Args(), cli.ErrUsage)
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("--output %q: use text or json: %w", *output, cli.ErrUsage)
	}
	st, err := loadWatchState(*stateFile)
	if err != nil {
		return err
	}
	source := *server
	if source == "" {
		source = "store:" + stores.store
		if stores.store == "" {
			abs, _ := filepath.Abs(stores.DataDir())
			source = "data:" + abs
		}
	}
	if st.DeltaLink != "" && (st.Source != source || st.Filter != *filter) {
		return fmt.Errorf("the state file %s follows %s with filter %q; use another --state for %s with filter %q", *stateFile, st.Source, st.Filter, source, *filter)
	}
	st.Source, st.Filter = source, *filter
	if st.Key == "" {
		key := make([]byte, httpapi.MinSkipTokenKeyLen)
		rand.Read(key)
		st.Key = base64.StdEncoding.EncodeToString(key)
	}
	key, err := base64.StdEncoding.DecodeString(st.Key)
	if err != nil || len(key) < httpapi.MinSkipTokenKeyLen {
		return fmt.Errorf("the state file %s is damaged (key); remove it to start again", *stateFile)
	}
	client, base, closeFn, err := watchClient(ctx, stores, *server, key)
	if err != nil {
		return err
	}
	defer closeFn()
	w := &watcher{client: client, base: base, token: *token, env: env, out: env.Stdout, json: *output == "json", state: st}
	for {
		if err := w.round(ctx, *filter); err != nil {
			return err
		}
		if err := saveWatchState(*stateFile, st); err != nil {
			return err
		}
		if *follow <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*follow):
		}
	}
}

// watchClient is searchClient with the state file's token key: the
// in-process server must accept next run the deltaLink it signs now.
func watchClient(ctx context.Context, stores *storeFlags, server string, key []byte) (*http.Client, string, func(), error) {
	if server != "" {
		u, err := url.Parse(server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, "", nil, fmt.Errorf("--server %q is not an http(s) URL such as https://portolan.example:8443: %w", server, cli.ErrUsage)
		}
		return &http.Client{Timeout: 2 * time.Minute}, strings.TrimSuffix(server, "/") + "/beta/security/threatIntelligence/", func() {}, nil
	}
	store, err := stores.Open(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, "", nil, err
	}
	api, err := httpapi.New(httpapi.Config{HostPorts: store, Hosts: store, Certificates: store, Verifier: localReader{}, SkipTokenKey: key})
	if err != nil {
		store.Close()
		return nil, "", nil, err
	}
	return &http.Client{Transport: handlerTransport{api}}, "http://portolan.local/beta/security/threatIntelligence/", func() { store.Close() }, nil
}

// watchState is the state file.
type watchState struct {
	Version   int                   `json:"version"`
	Source    string                `json:"source"`
	Filter    string                `json:"filter"`
	Key       string                `json:"key"` // signs the in-process server's tokens
	DeltaLink string                `json:"deltaLink"`
	Ports     map[string]*portState `json:"ports"`
}

// portState is what a line compares a port's new state with.
type portState struct {
	Endpoint string   `json:"endpoint"` // host:port/protocol
	Status   string   `json:"status"`
	Banners  []string `json:"banners,omitempty"`  // scanProtocol + digest of the text
	Services []string `json:"services,omitempty"` // name \x00 version \x00 lastSeen
	Cert     string   `json:"certificate,omitempty"`
}

func loadWatchState(path string) (*watchState, error) {
	st := &watchState{Version: 1, Ports: map[string]*portState{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, st); err != nil || st.Version != 1 {
		return nil, fmt.Errorf("the state file %s is not one portolan watch wrote (%v); remove it to start again", path, err)
	}
	if st.Ports == nil {
		st.Ports = map[string]*portState{}
	}
	return st, nil
}

// saveWatchState replaces the state file atomically.
func saveWatchState(path string, st *watchState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".portolan-watch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type watcher struct {
	client *http.Client
	base   string
	token  string
	env    *cli.Env
	out    io.Writer
	json   bool
	state  *watchState
}

// watchSelect is what watch reads of a hostPort.
const watchSelect = "id,port,protocol,status,lastScanDateTime,banners,services,mostRecentSslCertificate,host"

// deltaEntry is an item of a delta page as watch reads it.
type deltaEntry struct {
	ID       string                   `json:"id"`
	Removed  *struct{ Reason string } `json:"@removed"`
	Port     int                      `json:"port"`
	Protocol string                   `json:"protocol"`
	Status   string                   `json:"status"`
	LastScan string                   `json:"lastScanDateTime"`
	Banners  []struct {
		Banner       string `json:"banner"`
		ScanProtocol string `json:"scanProtocol"`
	} `json:"banners"`
	Services []struct {
		LastSeen  string `json:"lastSeenDateTime"`
		Component struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"component"`
	} `json:"services"`
	Cert *struct {
		ID string `json:"id"`
	} `json:"mostRecentSslCertificate"`
	Host struct {
		ID string `json:"id"`
	} `json:"host"`
}

// round follows the deltaLink (or, on the first run, or when the server
// no longer has the token's history, lists every port again) and reports
// the differences.
func (w *watcher) round(ctx context.Context, filter string) error {
	next := w.state.DeltaLink
	baseline := next == ""
	if baseline {
		q := url.Values{"$select": {watchSelect}}
		if filter != "" {
			q.Set("$filter", filter)
		}
		next = w.base + "hostPorts/delta?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	var listed map[string]bool // on a new listing, what it held
	if baseline {
		listed = map[string]bool{}
	}
	first := len(w.state.Ports) == 0 && baseline
	for next != "" {
		body, status, err := w.get(ctx, next)
		if err != nil {
			return err
		}
		if status == http.StatusGone {
			// The history is gone: list everything again and compare
			// with what the state file remembers.
			fmt.Fprintf(w.env.Stderr, "watch: the server no longer keeps the changes since the last run; comparing a new listing with the state file\n")
			w.state.DeltaLink = ""
			return w.round(ctx, filter)
		}
		var page struct {
			Value     []json.RawMessage `json:"value"`
			NextLink  string            `json:"@odata.nextLink"`
			DeltaLink string            `json:"@odata.deltaLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("watch: the answer is not a delta page: %w", err)
		}
		for _, raw := range page.Value {
			var e deltaEntry
			if err := json.Unmarshal(raw, &e); err != nil {
				return fmt.Errorf("watch: an item of the delta page: %w", err)
			}
			if listed != nil {
				listed[e.ID] = true
			}
			if err := w.apply(&e, first); err != nil {
				return err
			}
		}
		next = page.NextLink
		if page.DeltaLink != "" {
			w.state.DeltaLink = page.DeltaLink
		}
	}
	if first {
		fmt.Fprintf(w.env.Stderr, "watch: recorded %d %s; the next run prints what changed since\n", len(w.state.Ports), plural(len(w.state.Ports), "port", "ports"))
		return nil
	}
	// A new listing that lost a port the state file knew: it left.
	if listed != nil {
		for _, id := range sortedIDs(w.state.Ports) {
			if !listed[id] {
				reason := "changed"
				if err := w.apply(&deltaEntry{ID: id, Removed: &struct{ Reason string }{reason}}, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func sortedIDs(m map[string]*portState) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (w *watcher) get(ctx context.Context, target string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, err
	}
	token := w.token
	if token == "" {
		token = w.env.Getenv("PORTOLAN_TOKEN")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Prefer", "odata.maxpagesize=1000")
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusGone {
		return nil, resp.StatusCode, nil
	}
	if resp.StatusCode != http.StatusOK {
		var graph struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &graph) == nil && graph.Error.Message != "" {
			return nil, 0, fmt.Errorf("watch: %s (%s)", graph.Error.Message, graph.Error.Code)
		}
		return nil, 0, fmt.Errorf("watch: %s answered %s", req.URL.Host, resp.Status)
	}
	return body, resp.StatusCode, nil
}

// change is one line of output.
type change struct {
	Time     string `json:"time"`
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
	Change   string `json:"change"`            // opened, closed, filtered, banner, service, version, certificate, removed
	Service  string `json:"service,omitempty"` // the component whose version moved
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
}

func (c change) text() string {
	what := c.Change
	switch c.Change {
	case "banner":
		what = "new banner " + c.To
	case "service":
		what = "new service " + c.To
	case "version":
		what = c.Service + " " + c.From + " -> " + c.To
	case "certificate":
		from := c.From
		if from == "" {
			from = "none"
		}
		what = "certificate " + from + " -> " + c.To
	case "removed":
		what = "no longer matches the filter"
		if c.To == "deleted" {
			what = "removed"
		}
	}
	return c.Time + "  " + c.Endpoint + "  " + what
}

// apply compares an entry with the state and prints the differences;
// quiet records without printing (the first listing).
func (w *watcher) apply(e *deltaEntry, quiet bool) error {
	old := w.state.Ports[e.ID]
	if e.Removed != nil {
		if old == nil {
			return nil // never seen: it did not match before either
		}
		delete(w.state.Ports, e.ID)
		return w.print(change{Time: time.Now().UTC().Format(time.RFC3339), ID: e.ID, Endpoint: old.Endpoint, Change: "removed", To: e.Removed.Reason})
	}
	now := &portState{Endpoint: endpoint(e.Host.ID, e.Port, e.Protocol), Status: e.Status}
	for _, b := range e.Banners {
		sum := sha256.Sum256([]byte(b.Banner))
		now.Banners = append(now.Banners, b.ScanProtocol+":"+hex.EncodeToString(sum[:8]))
	}
	for _, s := range e.Services {
		now.Services = append(now.Services, s.Component.Name+"\x00"+s.Component.Version+"\x00"+s.LastSeen)
	}
	if e.Cert != nil {
		now.Cert = e.Cert.ID
	}
	w.state.Ports[e.ID] = now
	if quiet {
		return nil
	}
	at := e.LastScan
	line := func(kind, from, to string) error {
		return w.print(change{Time: at, ID: e.ID, Endpoint: now.Endpoint, Change: kind, From: from, To: to})
	}
	if old == nil {
		if err := line(statusWord(e.Status), "", e.Status); err != nil {
			return err
		}
		old = &portState{Status: e.Status}
	} else if old.Status != now.Status {
		if err := line(statusWord(now.Status), old.Status, now.Status); err != nil {
			return err
		}
	}
	for i, b := range now.Banners {
		if !slices.Contains(old.Banners, b) {
			text := firstLine(e.Banners[i].Banner)
			if p := e.Banners[i].ScanProtocol; p != "" {
				text = p + " " + text
			}
			if err := line("banner", "", text); err != nil {
				return err
			}
		}
	}
	// A new component whose name the port showed before is a new
	// version: compare it with that name's latest version.
	for _, s := range now.Services {
		if slices.Contains(old.Services, s) || containsComponent(old.Services, s) {
			continue
		}
		name, version, _ := strings.Cut(s, "\x00")
		version, _, _ = strings.Cut(version, "\x00")
		if prev, ok := latestVersion(old.Services, name); ok && prev != version {
			if err := w.print(change{Time: at, ID: e.ID, Endpoint: now.Endpoint, Change: "version", Service: name, From: prev, To: version}); err != nil {
				return err
			}
		} else if !ok {
			if err := line("service", "", strings.TrimSpace(name+" "+version)); err != nil {
				return err
			}
		}
	}
	if old.Cert != now.Cert && now.Cert != "" {
		if err := line("certificate", shortCert(old.Cert), shortCert(now.Cert)); err != nil {
			return err
		}
	}
	return nil
}

// containsComponent reports whether services holds the component (name and
// version) of s, whatever its lastSeen.
func containsComponent(services []string, s string) bool {
	name, rest, _ := strings.Cut(s, "\x00")
	version, _, _ := strings.Cut(rest, "\x00")
	for _, o := range services {
		n, r, _ := strings.Cut(o, "\x00")
		v, _, _ := strings.Cut(r, "\x00")
		if n == name && v == version {
			return true
		}
	}
	return false
}

// latestVersion is the version of name last seen among services.
func latestVersion(services []string, name string) (string, bool) {
	best, bestSeen, ok := "", "", false
	for _, o := range services {
		parts := strings.SplitN(o, "\x00", 3)
		if len(parts) == 3 && parts[0] == name && (!ok || parts[2] > bestSeen) {
			best, bestSeen, ok = parts[1], parts[2], true
		}
	}
	return best, ok
}

func statusWord(status string) string {
	if status == "open" {
		return "opened"
	}
	return status
}

func endpoint(host string, port int, protocol string) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if protocol == "" {
		protocol = "tcp"
	}
	return fmt.Sprintf("%s:%d/%s", host, port, protocol)
}

// shortCert shows a certificate by the first hex digits of its SHA-1.
func shortCert(id string) string {
	if id == "" {
		return ""
	}
	sha, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(sha) < 4 {
		return id
	}
	return string(sha[:4]) + "…"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = portolan.CleanText(s, 60) + "…"
	}
	return s
}

func (w *watcher) print(c change) error {
	if w.json {
		data, err := json.Marshal(c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w.out, "%s\n", data)
		return err
	}
	_, err := fmt.Fprintln(w.out, c.text())
	return err
}
