// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of `portolan serve`: the real binary, a real listener on
// a port the kernel picks (--addr 127.0.0.1:0; serve prints the address it
// bound), and real HTTP clients. The helpers here are shared with
// graphclient_test.go.

const (
	e2eStartTimeout   = 30 * time.Second // until serve has printed its URL
	e2eHealthTimeout  = 20 * time.Second // until /healthz answers
	e2eStopTimeout    = 20 * time.Second // SIGTERM until exit (serve allows 10 s for requests)
	e2eCommandTimeout = 60 * time.Second // ingest, token
)

// e2eServingLine is how serve announces the URL it listens on.
var e2eServingLine = regexp.MustCompile(`serves the Graph threat-intelligence API at (https?://\S+)/beta `)

// e2eBuffer collects a child's output while the test reads it.
type e2eBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *e2eBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *e2eBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// e2eEnv is the test's environment without PORTOLAN_* variables, so that a
// developer's PORTOLAN_STORE or PORTOLAN_DATA cannot redirect the child,
// plus extra ("K=V"; later entries win).
func e2eEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTOLAN_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// e2eRunBinary runs a short command of the real binary and returns its stdout;
// it fails the test on a non-zero exit or after e2eCommandTimeout.
func e2eRunBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = e2eEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("portolan %s: %v", strings.Join(args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("portolan %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
		}
	case <-time.After(e2eCommandTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("portolan %s: no exit within %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), e2eCommandTimeout, out.String(), errOut.String())
	}
	return out.String()
}

// e2eIngestedDataDir creates a data directory holding the bundled nmap
// captures (those nmap_records.golden.json describes) and returns it with a
// token of its local issuer, both made by the real binary.
func e2eIngestedDataDir(t *testing.T) (dir, token string) {
	t.Helper()
	files, err := filepath.Glob(samples + "nmap_*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no nmap captures in %s: %v", samples, err)
	}
	dir = filepath.Join(t.TempDir(), "data")
	out := e2eRunBinary(t, append([]string{"ingest", "--data", dir, "--no-progress"}, files...)...)
	if !strings.Contains(out, fmt.Sprintf("ingested: %d files,", len(files))) || !strings.Contains(out, " 0 rejected") {
		t.Fatalf("ingest summary: %q", out)
	}
	token = strings.TrimSpace(e2eRunBinary(t, "token", "--data", dir))
	if strings.Count(token, ".") != 2 {
		t.Fatalf("portolan token printed %q, not a JWT", token)
	}
	return dir, token
}

// e2eGoldenPort is a hostPort of nmap_records.golden.json: the records that
// ingesting the nmap captures must produce, kept by internal/ingest's tests.
type e2eGoldenPort struct {
	ID                       string `json:"id"`
	Port                     int    `json:"port"`
	Protocol                 string `json:"protocol"`
	Status                   string `json:"status"`
	FirstSeenDateTime        string `json:"firstSeenDateTime"`
	LastSeenDateTime         string `json:"lastSeenDateTime"`
	LastScanDateTime         string `json:"lastScanDateTime"`
	TimesObserved            int    `json:"timesObserved"`
	MostRecentSslCertificate string `json:"mostRecentSslCertificate"`
	Banners                  []struct {
		Banner string `json:"banner"`
	} `json:"banners"`
	Services []struct {
		Component struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"component"`
	} `json:"services"`
}

// e2eGoldenHost returns the ports of host (in the documented list order: by
// port, then protocol) and the sha1 of each certificate id.
func e2eGoldenHost(t *testing.T, host string) (ports []e2eGoldenPort, sha1 map[string]string) {
	t.Helper()
	data, err := os.ReadFile(samples + "nmap_records.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []struct {
		ID           string          `json:"id"`
		Ports        []e2eGoldenPort `json:"ports"`
		Certificates []struct {
			SslCertificate struct {
				ID   string `json:"id"`
				Sha1 string `json:"sha1"`
			} `json:"sslCertificate"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal(data, &hosts); err != nil {
		t.Fatalf("nmap_records.golden.json: %v", err)
	}
	for _, h := range hosts {
		if h.ID != host {
			continue
		}
		sha1 = map[string]string{}
		for _, c := range h.Certificates {
			sha1[c.SslCertificate.ID] = c.SslCertificate.Sha1
		}
		if len(h.Ports) < 2 {
			t.Fatalf("nmap_records.golden.json: %s has %d ports; paging needs at least 2", host, len(h.Ports))
		}
		return h.Ports, sha1
	}
	t.Fatalf("nmap_records.golden.json has no host %s", host)
	return nil, nil
}

// e2eServer is a running `portolan serve` child process.
type e2eServer struct {
	cmd            *exec.Cmd
	stdout, stderr *e2eBuffer
	exited         chan struct{}
	waitErr        error // valid once exited is closed
	// URL is scheme://host:port as serve printed it, without /beta.
	URL string
}

// e2eStartServe starts `portolan serve args...` with extraEnv and waits until
// it has printed the URL it serves. The process is killed when the test
// ends, and its output is logged if the test failed.
func e2eStartServe(t *testing.T, extraEnv []string, args ...string) *e2eServer {
	t.Helper()
	s := &e2eServer{stdout: &e2eBuffer{}, stderr: &e2eBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binary(t), append([]string{"serve"}, args...)...)
	s.cmd.Env = e2eEnv(extraEnv...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start portolan serve: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
			}
		}
		if t.Failed() {
			t.Logf("portolan serve %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), s.stdout.String(), s.stderr.String())
		}
	})
	s.URL = s.waitFor(t, e2eServingLine, e2eStartTimeout)[1]
	return s
}

// waitFor waits until serve's stdout matches re and returns the submatches.
func (s *e2eServer) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
			return m
		}
		select {
		case <-s.exited:
			if m := re.FindStringSubmatch(s.stdout.String()); m != nil {
				return m
			}
			t.Fatalf("portolan serve exited (%v) before printing %q", s.waitErr, re)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("portolan serve printed no %q within %s", re, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHealthy polls /healthz (open, no token) until it answers 200.
func (s *e2eServer) waitHealthy(t *testing.T, client *http.Client) {
	t.Helper()
	deadline := time.Now().Add(e2eHealthTimeout)
	var last string
	for {
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-s.exited:
			t.Fatalf("portolan serve exited (%v) before /healthz answered", s.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz did not answer 200 within %s: %s", s.URL, e2eHealthTimeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and checks that serve shuts down gracefully and exits 0.
func (s *e2eServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(e2eStopTimeout):
		t.Fatalf("portolan serve did not exit within %s of SIGTERM", e2eStopTimeout)
	}
	if s.waitErr != nil {
		t.Errorf("portolan serve exited with %v after SIGTERM, want status 0", s.waitErr)
	}
	if !strings.Contains(s.stderr.String(), "shutting down") {
		t.Errorf("portolan serve logged no graceful shutdown")
	}
}

// e2eGetJSON GETs u with the bearer token (none if empty) and decodes a JSON
// body into v (unless nil); it returns the response with its body read.
func e2eGetJSON(t *testing.T, client *http.Client, u, token string, v any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", u, err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %s: body is not JSON: %v\n%s", u, resp.Status, err, body)
		}
	}
	return resp
}

// e2ePortsPage is a page of hosts/{id}/ports.
type e2ePortsPage struct {
	Context  string `json:"@odata.context"`
	NextLink string `json:"@odata.nextLink"`
	Value    []struct {
		ID   string `json:"id"`
		Port int    `json:"port"`
		Host *struct {
			ID string `json:"id"`
		} `json:"host"`
	} `json:"value"`
}

type e2eGraphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

const e2ePortsOf127 = "/beta/security/threatIntelligence/hosts/127.0.0.1/ports"

// TestServePagesThroughAHostWithTop1 is the end-to-end test of issue 3,
// item 8: the real binary on a free port, the bundled captures ingested,
// and hosts/127.0.0.1/ports paged with $top=1 along @odata.nextLink.
func TestServePagesThroughAHostWithTop1(t *testing.T) {
	want, _ := e2eGoldenHost(t, "127.0.0.1")
	data, token := e2eIngestedDataDir(t)
	s := e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0")
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || strings.HasSuffix(s.URL, ":0") {
		t.Fatalf("serve printed %q, want http://127.0.0.1:<the bound port>", s.URL)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	s.waitHealthy(t, client)

	// /healthz is open; the API is not.
	if resp := e2eGetJSON(t, client, s.URL+"/healthz", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz without a token: %s", resp.Status)
	}
	for name, tok := range map[string]string{"no token": "", "a malformed token": "not-a-jwt"} {
		var e e2eGraphError
		resp := e2eGetJSON(t, client, s.URL+e2ePortsOf127, tok, &e)
		if resp.StatusCode != http.StatusUnauthorized || e.Error.Code != "InvalidAuthenticationToken" ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || resp.Header.Get("request-id") == "" {
			t.Errorf("%s: %s, code %q, WWW-Authenticate %q, request-id %q; want 401 InvalidAuthenticationToken with Bearer",
				name, resp.Status, e.Error.Code, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("request-id"))
		}
	}

	// The whole list in one page, for comparison.
	var all e2ePortsPage
	if resp := e2eGetJSON(t, client, s.URL+e2ePortsOf127, token, &all); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", e2ePortsOf127, resp.Status)
	}
	if all.NextLink != "" {
		t.Errorf("a nextLink below the default page size: %s", all.NextLink)
	}

	// $top=1 along @odata.nextLink until it is absent.
	var pagedIDs []string
	var pagedPorts []int
	seen := map[string]int{}
	next := s.URL + e2ePortsOf127 + "?$top=1"
	for pages := 0; next != ""; pages++ {
		if pages > 2*len(want)+2 {
			t.Fatalf("still a nextLink after %d pages (%d ports): %s", pages, len(want), next)
		}
		var page e2ePortsPage
		if resp := e2eGetJSON(t, client, next, token, &page); resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d, GET %s: %s", pages+1, next, resp.Status)
		}
		if len(page.Value) != 1 {
			t.Fatalf("page %d (%s) has %d items, want 1", pages+1, next, len(page.Value))
		}
		p := page.Value[0]
		seen[p.ID]++
		pagedIDs = append(pagedIDs, p.ID)
		pagedPorts = append(pagedPorts, p.Port)
		if page.NextLink != "" {
			u, err := url.Parse(page.NextLink)
			if err != nil || !strings.HasPrefix(page.NextLink, s.URL+e2ePortsOf127+"?") ||
				u.Query().Get("$top") != "1" || u.Query().Get("$skiptoken") == "" {
				t.Fatalf("page %d: nextLink %q is not an absolute URL of the same list with $top=1 and a $skiptoken", pages+1, page.NextLink)
			}
		}
		next = page.NextLink
	}

	for id, n := range seen {
		if n != 1 {
			t.Errorf("port %s seen %d times", id, n)
		}
	}
	for i := 1; i < len(pagedPorts); i++ {
		if pagedPorts[i] <= pagedPorts[i-1] {
			t.Errorf("pages out of order: port %d after %d (%v)", pagedPorts[i], pagedPorts[i-1], pagedPorts)
		}
	}
	var wantIDs, allIDs []string
	for _, p := range want {
		wantIDs = append(wantIDs, p.ID)
	}
	for _, p := range all.Value {
		allIDs = append(allIDs, p.ID)
	}
	if strings.Join(pagedIDs, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("paged through %v (ports %v),\nwant the ingested ports %v", pagedIDs, pagedPorts, wantIDs)
	}
	if strings.Join(pagedIDs, " ") != strings.Join(allIDs, " ") {
		t.Errorf("paged through %v, but the unpaged list is %v", pagedIDs, allIDs)
	}

	s.stop(t)
}

// TestServeDemoPrintsAWorkingCurlCommand runs the quick start, `serve
// --demo`, and does what it prints: the curl command (here with net/http)
// must answer 200 with the ports of 127.0.0.1.
func TestServeDemoPrintsAWorkingCurlCommand(t *testing.T) {
	want, _ := e2eGoldenHost(t, "127.0.0.1")
	tmp := t.TempDir() // the demo's throwaway data directory goes here
	s := e2eStartServe(t, []string{"TMPDIR=" + tmp}, "--demo", "--addr", "127.0.0.1:0")
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || strings.HasSuffix(s.URL, ":0") {
		t.Fatalf("serve --demo printed %q, want http://127.0.0.1:<the bound port>", s.URL)
	}
	token := s.waitFor(t, regexp.MustCompile(`(?m)^Token \(24 h\): (\S+)\n`), e2eStartTimeout)[1]
	curl := s.waitFor(t, regexp.MustCompile(`(?m)^Try:\n\s+(curl .+)\n`), e2eStartTimeout)[1]

	req, client := e2eCurlRequest(t, curl)
	if got, wantURL := req.URL.String(), s.URL+e2ePortsOf127; got != wantURL {
		t.Errorf("the curl command requests %s, want %s", got, wantURL)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("the curl command sends Authorization %q, want the printed token", got)
	}
	s.waitHealthy(t, client)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the curl command's request: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the curl command's request: %s %v\n%s", resp.Status, err, body)
	}
	var page e2ePortsPage
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("the curl command's response is not JSON: %v\n%s", err, body)
	}
	if len(page.Value) == 0 {
		t.Fatalf("the curl command's response lists no ports: %s", body)
	}
	got := map[string]bool{}
	for _, p := range page.Value {
		if p.Host == nil || p.Host.ID != "127.0.0.1" {
			t.Errorf("port %d (%s) is not of 127.0.0.1: host %+v", p.Port, p.ID, p.Host)
		}
		got[p.ID] = true
	}
	// The demo bundles the nmap captures (and others, which may add ports).
	for _, p := range want {
		if !got[p.ID] {
			t.Errorf("the demo lists no port %d (%s) of the bundled nmap captures", p.Port, p.ID)
		}
	}

	s.stop(t)
	if left, _ := filepath.Glob(filepath.Join(tmp, "portolan-demo-*")); len(left) > 0 {
		t.Errorf("serve --demo left its temporary data directory behind: %v", left)
	}
}

// e2eCurlRequest turns the printed curl command into a request and a client:
// the URL, -H headers and --cacert; any other option fails the test, so the
// test notices when the printed command changes.
func e2eCurlRequest(t *testing.T, command string) (*http.Request, *http.Client) {
	t.Helper()
	words, err := e2eShellWords(command)
	if err != nil || len(words) == 0 || words[0] != "curl" {
		t.Fatalf("cannot read the curl command %q: %v", command, err)
	}
	var target string
	header := http.Header{}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case (w == "-H" || w == "--header") && i+1 < len(words):
			i++
			k, v, ok := strings.Cut(words[i], ":")
			if !ok {
				t.Fatalf("curl command: header %q has no colon", words[i])
			}
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case w == "--cacert" && i+1 < len(words):
			i++
			pem, err := os.ReadFile(words[i])
			if err != nil {
				t.Fatalf("curl command: --cacert: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				t.Fatalf("curl command: --cacert %s holds no certificate", words[i])
			}
			transport.TLSClientConfig = &tls.Config{RootCAs: pool}
		case strings.HasPrefix(w, "-"):
			t.Fatalf("curl command: option %q is not understood by this test", w)
		case target != "":
			t.Fatalf("curl command: two URLs, %q and %q", target, w)
		default:
			target = w
		}
	}
	if strings.Contains(command, "$") {
		t.Errorf("the curl command needs a shell variable: %s", command)
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatalf("curl command: URL %q: %v", target, err)
	}
	req.Header = header
	return req, &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

// e2eShellWords splits a POSIX shell command line with single quotes, double
// quotes and backslashes (no expansions).
func e2eShellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestServeEdges runs the binary with --cors-origin and sends what net/http
// refuses itself and a CORS preflight: Graph's envelope for the first, the
// preflight answered for the configured origin only.
func TestServeEdges(t *testing.T) {
	s := e2eStartServe(t, nil, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--cors-origin", "https://app.example")
	client := &http.Client{Timeout: 10 * time.Second}
	s.waitHealthy(t, client)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /beta/security/threatIntelligence/hosts/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("request-id") == "" || !strings.Contains(string(body), `"code":"BadRequest"`) {
		t.Errorf("bad percent-encoding: %s %v\n%s", resp.Status, resp.Header, body)
	}
	for origin, want := range map[string]int{"https://app.example": http.StatusNoContent, "https://other.example": http.StatusMethodNotAllowed} {
		req, _ := http.NewRequest(http.MethodOptions, s.URL+"/beta/security/threatIntelligence/hosts/127.0.0.1", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if origin == "https://other.example" && resp.StatusCode != http.StatusNoContent {
			continue // refused, as any OPTIONS is (401 or 405)
		}
		if resp.StatusCode != want || resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight from %s: %s %v", origin, resp.Status, resp.Header)
		}
	}
}

// TestServeHintsAtTheDataDirectoryOnA401: a token minted on another data
// directory is refused, and the log line says which directory's key the
// server trusts.
func TestServeHintsAtTheDataDirectoryOnA401(t *testing.T) {
	served, other := t.TempDir(), t.TempDir()
	tok, _, err := run(t, nil, "token", "--data", other)
	if err != nil {
		t.Fatal(err)
	}
	s := e2eStartServe(t, nil, "--data", served, "--addr", "127.0.0.1:0")
	client := &http.Client{Timeout: 10 * time.Second}
	s.waitHealthy(t, client)
	resp := e2eGetJSON(t, client, s.URL+"/beta/security/threatIntelligence/hosts/127.0.0.1", strings.TrimSpace(tok), nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.stderr.String(), "hint=") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if log := s.stderr.String(); !strings.Contains(log, "token refused") || !strings.Contains(log, "local issuer of data directory "+served) {
		t.Errorf("the 401 log line has no hint naming %s:\n%s", served, log)
	}
	s.stop(t)
}
