// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// e2eGraphClientDir holds the npm package of the Graph JavaScript client end-to-
// end test: package.json and package-lock.json pin the client, e2e.mjs
// drives it. CI installs it with `npm ci` (.ci/run).
const e2eGraphClientDir = "../../test/graphclient"

// e2eNodeTimeout bounds the whole run of e2e.mjs; the script's own deadline
// (PORTOLAN_E2E_TIMEOUT_MS) is shorter, so that it reports what it waited for.
const e2eNodeTimeout = 90 * time.Second

var e2eCertLine = regexp.MustCompile(`(?m)^TLS certificate \(self-signed\): (.+)\n`)

// e2eGraphClientSummary is the JSON that e2e.mjs prints on success.
type e2eGraphClientSummary struct {
	OK     bool `json:"ok"`
	Client struct {
		Package string `json:"package"`
		Version string `json:"version"`
	} `json:"client"`
	URL    string `json:"url"`
	Select struct {
		Context string `json:"context"`
		Ports   []struct {
			ID     string `json:"id"`
			Port   int    `json:"port"`
			Status string `json:"status"`
		} `json:"ports"`
	} `json:"select"`
	Expand struct {
		Certificates []struct {
			ID            string `json:"id"`
			Port          int    `json:"port"`
			CertificateID string `json:"certificateId"`
			Sha1          string `json:"sha1"`
		} `json:"certificates"`
	} `json:"expand"`
	SelectExpand struct {
		Expanded int `json:"expanded"`
	} `json:"selectExpand"`
	TopCount struct {
		OdataCount int    `json:"odataCount"`
		PageSize   int    `json:"pageSize"`
		NextLink   string `json:"nextLink"`
	} `json:"topCount"`
	PageIterator struct {
		Pages    int   `json:"pages"`
		Items    int   `json:"items"`
		Ports    []int `json:"ports"`
		Complete bool  `json:"complete"`
	} `json:"pageIterator"`
	ByID struct {
		ID              string `json:"id"`
		Port            int    `json:"port"`
		RequestPath     string `json:"requestPath"`
		CertificateStub string `json:"certificateStub"`
	} `json:"byId"`
	NotFound struct {
		StatusCode int    `json:"statusCode"`
		Code       string `json:"code"`
		RequestID  string `json:"requestId"`
	} `json:"notFound"`
	Search struct {
		Filter     string `json:"filter"`
		OdataCount int    `json:"odataCount"`
		Ports      []int  `json:"ports"`
	} `json:"search"`
	Delta struct {
		Items     int      `json:"items"`
		Pages     int      `json:"pages"`
		IDs       []string `json:"ids"`
		DeltaLink string   `json:"deltaLink"`
	} `json:"delta"`
	Subscription struct {
		ID      string `json:"id"`
		Listed  int    `json:"listed"`
		Renewed string `json:"renewed"`
		Deleted bool   `json:"deleted"`
	} `json:"subscription"`
	Requests struct {
		Total         int  `json:"total"`
		AllHTTPS      bool `json:"allHttps"`
		AllAuthorized bool `json:"allAuthorized"`
	} `json:"requests"`
}

// TestGraphJavaScriptClient is issue 3, item 9: the npm package
// @microsoft/microsoft-graph-client, as pinned in test/graphclient, against
// the real binary over its self-signed TLS listener ($select, $expand,
// $top, $count, PageIterator, hostPorts/{id} with a percent-encoded id, a
// 404 as GraphError) and issue 11, item 7 (hostPorts with .filter(),
// .orderby() and .count(true) walked by a PageIterator) and issue 12, item 5
// (hostPorts/delta walked by a PageIterator, which keeps the deltaLink).
func TestGraphJavaScriptClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; install Node.js (>= 18) and run `npm ci` in test/graphclient to run this test")
	}
	dir, err := filepath.Abs(e2eGraphClientDir)
	if err != nil {
		t.Fatal(err)
	}
	pinned := e2ePinnedGraphClient(t, dir)
	installed, err := os.ReadFile(filepath.Join(dir, "node_modules", "@microsoft", "microsoft-graph-client", "package.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("test/graphclient/node_modules is missing; run `npm ci` in test/graphclient to run this test")
	} else if err != nil {
		t.Fatal(err)
	}
	var inst struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(installed, &inst); err != nil || inst.Version != pinned {
		t.Fatalf("test/graphclient/node_modules holds @microsoft/microsoft-graph-client %q, package.json pins %q (%v); run `npm ci` in test/graphclient", inst.Version, pinned, err)
	}

	want, sha1 := e2eGoldenHost(t, "127.0.0.1")
	data, token := e2eIngestedDataDir(t)
	s := e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0", "--tls-self-signed")
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") || strings.HasSuffix(s.URL, ":0") {
		t.Fatalf("serve printed %q, want https://127.0.0.1:<the bound port>", s.URL)
	}
	certFile := strings.TrimSpace(s.waitFor(t, e2eCertLine, e2eStartTimeout)[1])
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatalf("the printed certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", certFile)
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	s.waitHealthy(t, client)

	ctx, cancel := context.WithTimeout(context.Background(), e2eNodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "e2e.mjs")
	cmd.Dir = dir
	cmd.Env = append(e2eNodeEnv(),
		"PORTOLAN_URL="+s.URL,
		"PORTOLAN_TOKEN="+token,
		"NODE_EXTRA_CA_CERTS="+certFile,
		"PORTOLAN_HOST=127.0.0.1",
		"PORTOLAN_WEBHOOK_URL="+newE2EWebhook(t).URL+"/graph-client",
		fmt.Sprintf("PORTOLAN_E2E_TIMEOUT_MS=%d", (e2eNodeTimeout-15*time.Second).Milliseconds()),
	)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (killed after %s)", err, e2eNodeTimeout)
		}
		t.Fatalf("node e2e.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	if stderr.Len() > 0 {
		t.Logf("node e2e.mjs stderr:\n%s", stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var sum e2eGraphClientSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("node e2e.mjs printed no JSON summary: %v\n%s", err, stdout.String())
	}
	t.Logf("Graph JavaScript client %s: %d requests, %d pages walked, %d certificates expanded",
		sum.Client.Version, sum.Requests.Total, sum.PageIterator.Pages, len(sum.Expand.Certificates))

	// The script asserted the shapes; here its findings are held against
	// the records that ingesting the captures must produce.
	if !sum.OK || sum.URL != s.URL {
		t.Errorf("summary: ok %v, url %q (want %q)", sum.OK, sum.URL, s.URL)
	}
	if sum.Client.Package != "@microsoft/microsoft-graph-client" || sum.Client.Version != pinned {
		t.Errorf("the script ran %s %s, want the pinned %s", sum.Client.Package, sum.Client.Version, pinned)
	}
	var wantPorts, gotPorts []string
	for _, p := range want {
		wantPorts = append(wantPorts, fmt.Sprintf("%d %s %s", p.Port, p.ID, p.Status))
	}
	for _, p := range sum.Select.Ports {
		gotPorts = append(gotPorts, fmt.Sprintf("%d %s %s", p.Port, p.ID, p.Status))
	}
	if strings.Join(gotPorts, "\n") != strings.Join(wantPorts, "\n") {
		t.Errorf("$select listed\n%s\nwant\n%s", strings.Join(gotPorts, "\n"), strings.Join(wantPorts, "\n"))
	}
	if sum.TopCount.OdataCount != len(want) || sum.TopCount.PageSize != 1 || !strings.HasPrefix(sum.TopCount.NextLink, s.URL+"/beta/") {
		t.Errorf("$top=1&$count=true: count %d (want %d), page size %d, nextLink %q",
			sum.TopCount.OdataCount, len(want), sum.TopCount.PageSize, sum.TopCount.NextLink)
	}
	walked := fmt.Sprint(sum.PageIterator.Ports)
	var wantWalk []int
	for _, p := range want {
		wantWalk = append(wantWalk, p.Port)
	}
	if !sum.PageIterator.Complete || sum.PageIterator.Pages != sum.TopCount.OdataCount || sum.PageIterator.Items != len(want) || walked != fmt.Sprint(wantWalk) {
		t.Errorf("PageIterator: complete %v, %d pages, %d items, ports %s; want %d pages of %v",
			sum.PageIterator.Complete, sum.PageIterator.Pages, sum.PageIterator.Items, walked, len(want), wantWalk)
	}
	var wantCerts, gotCerts []string
	for _, p := range want {
		if p.MostRecentSslCertificate != "" {
			wantCerts = append(wantCerts, fmt.Sprintf("%d %s %s", p.Port, p.MostRecentSslCertificate, sha1[p.MostRecentSslCertificate]))
		}
	}
	for _, c := range sum.Expand.Certificates {
		gotCerts = append(gotCerts, fmt.Sprintf("%d %s %s", c.Port, c.CertificateID, c.Sha1))
	}
	if len(wantCerts) == 0 || strings.Join(gotCerts, "\n") != strings.Join(wantCerts, "\n") || sum.SelectExpand.Expanded != len(wantCerts) {
		t.Errorf("$expand=mostRecentSslCertificate gave\n%s\nwant\n%s\n($select with $expand: %d expanded)",
			strings.Join(gotCerts, "\n"), strings.Join(wantCerts, "\n"), sum.SelectExpand.Expanded)
	}
	if !strings.Contains(sum.ByID.ID, "=") || !strings.HasSuffix(sum.ByID.RequestPath, "/beta/security/threatIntelligence/hostPorts/"+strings.NewReplacer("=", "%3D", "+", "%2B", "/", "%2F").Replace(sum.ByID.ID)) {
		t.Errorf("hostPorts/{id}: id %q requested as %q; want an id with '=' sent percent-encoded", sum.ByID.ID, sum.ByID.RequestPath)
	}
	if sum.NotFound.StatusCode != 404 || sum.NotFound.Code != "ResourceNotFound" || sum.NotFound.RequestID == "" {
		t.Errorf("unknown host: GraphError %+v, want statusCode 404, code ResourceNotFound and a request id", sum.NotFound)
	}
	var openPorts []int
	for i := len(want) - 1; i >= 0; i-- {
		if want[i].Status == "open" {
			openPorts = append(openPorts, want[i].Port)
		}
	}
	if sum.Search.OdataCount != len(openPorts) || fmt.Sprint(sum.Search.Ports) != fmt.Sprint(openPorts) {
		t.Errorf("hostPorts?$filter=%s&$orderby=port desc: count %d, walked %v; want the open ports %v", sum.Search.Filter, sum.Search.OdataCount, sum.Search.Ports, openPorts)
	}
	var wantIDs []string
	for _, p := range want {
		wantIDs = append(wantIDs, p.ID)
	}
	slices.Sort(wantIDs)
	gotIDs := slices.Sorted(slices.Values(sum.Delta.IDs))
	if !slices.Equal(gotIDs, wantIDs) || sum.Delta.Pages != len(want) || !strings.HasPrefix(sum.Delta.DeltaLink, s.URL+"/beta/") {
		t.Errorf("hostPorts/delta: %d pages of %v, deltaLink %q; want every port once, one a page", sum.Delta.Pages, gotIDs, sum.Delta.DeltaLink)
	}
	if sum.Subscription.ID == "" || !sum.Subscription.Deleted || sum.Subscription.Listed != 1 {
		t.Errorf("subscription created, listed, renewed and deleted by the client: %+v", sum.Subscription)
	}
	if !sum.Requests.AllHTTPS || !sum.Requests.AllAuthorized || sum.Requests.Total < 5+len(want) {
		t.Errorf("requests: %+v", sum.Requests)
	}

	s.stop(t)
}

// e2ePinnedGraphClient returns the exact version of the client that
// test/graphclient/package.json pins (a range would defeat the lock file).
func e2ePinnedGraphClient(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatalf("test/graphclient/package.json: %v", err)
	}
	v := pkg.Dependencies["@microsoft/microsoft-graph-client"]
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Fatalf("test/graphclient/package.json pins @microsoft/microsoft-graph-client %q, want an exact version", v)
	}
	return v
}

// e2eNodeEnv is the environment of e2e.mjs: the test's, without what would
// weaken or redirect it (certificate checks switched off, preloaded code,
// another CA file).
func e2eNodeEnv() []string {
	var env []string
	for _, kv := range e2eEnv() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS":
			continue
		}
		env = append(env, kv)
	}
	return env
}
