// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// e2eGraphSDKDir holds the Go module of the Graph Go SDK end-to-end test:
// its go.mod pins github.com/microsoftgraph/msgraph-beta-sdk-go, main.go
// drives it. CI downloads and compiles it before the tests (.ci/run): the
// SDK is large, and its first compile takes minutes.
const e2eGraphSDKDir = "../../test/graphsdk"

// e2eGraphSDKSummary is the JSON test/graphsdk prints on success.
type e2eGraphSDKSummary struct {
	OK    bool   `json:"ok"`
	SDK   string `json:"sdk"`
	Ports []struct {
		ID              string   `json:"id"`
		Port            int      `json:"port"`
		Protocol        string   `json:"protocol"`
		Status          string   `json:"status"`
		FirstSeen       string   `json:"firstSeen"`
		LastSeen        string   `json:"lastSeen"`
		LastScan        string   `json:"lastScan"`
		TimesObserved   int      `json:"timesObserved"`
		Banners         []string `json:"banners"`
		Services        []string `json:"services"`
		CertificateSha1 string   `json:"certificateSha1"`
	} `json:"ports"`
	Host struct {
		ODataType string `json:"odataType"`
		IsAddress bool   `json:"isIpAddress"`
		FirstSeen string `json:"firstSeen"`
	} `json:"host"`
	Hostname struct {
		ID         string `json:"id"`
		IsHostname bool   `json:"isHostname"`
		Ports      int    `json:"ports"`
	} `json:"hostname"`
	HostCertificates []string `json:"hostCertificates"`
	Components       []string `json:"components"`
	ComponentGet     string   `json:"componentGet"`
	Certificates     []struct {
		ID          string `json:"id"`
		Sha1        string `json:"sha1"`
		Subject     string `json:"subject"`
		NotAfter    string `json:"notAfter"`
		RelatedHost string `json:"relatedHost"`
	} `json:"certificates"`
	ByID struct {
		ID       string `json:"id"`
		Port     int    `json:"port"`
		HostType string `json:"hostType"`
		HostID   string `json:"hostId"`
	} `json:"byId"`
	PageIterator struct {
		Pages int   `json:"pages"`
		Ports []int `json:"ports"`
	} `json:"pageIterator"`
	Search struct {
		Count int   `json:"count"`
		Ports []int `json:"ports"`
	} `json:"search"`
	NotFound struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	} `json:"notFound"`
	Count    int `json:"count"`
	Requests int `json:"requests"`
}

// TestGraphGoSDK runs the Microsoft Graph beta Go SDK, as test/graphsdk pins
// it, against the real binary over its self-signed TLS listener: its typed
// request builders and models decode a host's ports (enums, times, banners,
// services, the expanded certificate), the host by its @odata.type, its
// components, certificates and their related hosts, a hostPort by its id
// with its host's stub, pages walked by the SDK's PageIterator, a $filter search
// with $count, and a 404 as a typed ODataError; the test holds what it
// decoded to the records the captures must give.
func TestGraphGoSDK(t *testing.T) {
	dir, err := filepath.Abs(e2eGraphSDKDir)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK must already be in the module cache (CI downloads it): a
	// test run without the network skips rather than fails.
	check := exec.Command("go", "mod", "download", "-json", "github.com/microsoftgraph/msgraph-beta-sdk-go")
	check.Dir = dir
	check.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	if out, err := check.CombinedOutput(); err != nil {
		t.Skipf("the Graph Go SDK is not in the module cache (%v: %s); run `go mod download` in test/graphsdk to run this test", err, bytes.TrimSpace(out))
	}
	bin := filepath.Join(t.TempDir(), "graphsdk")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in test/graphsdk: %v\n%s", err, out)
	}

	want, sha1 := e2eGoldenHost(t, "127.0.0.1")
	data, token := e2eIngestedDataDir(t)
	s := e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0", "--tls-self-signed")
	certFile := strings.TrimSpace(s.waitFor(t, e2eCertLine, e2eStartTimeout)[1])

	run := exec.CommandContext(ctx, bin)
	run.Env = append(e2eEnv(), "PORTOLAN_URL="+s.URL, "PORTOLAN_TOKEN="+token, "PORTOLAN_CA_FILE="+certFile, "PORTOLAN_HOST=127.0.0.1")
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("test/graphsdk: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var sum e2eGraphSDKSummary
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &sum); err != nil || !sum.OK {
		t.Fatalf("test/graphsdk printed no summary (%v):\n%s", err, stdout.String())
	}
	t.Logf("%s: %d requests, %d ports, %d certificates", sum.SDK, sum.Requests, len(sum.Ports), len(sum.Certificates))

	// Each port as the SDK's models decoded it, against the golden records.
	var got, wantPorts []string
	for _, p := range sum.Ports {
		got = append(got, fmt.Sprintf("%s %d/%s %s first %s last %s scan %s x%d banners %q services %q cert %s",
			p.ID, p.Port, p.Protocol, p.Status, p.FirstSeen, p.LastSeen, p.LastScan, p.TimesObserved, p.Banners, p.Services, p.CertificateSha1))
	}
	var wantCerts []string
	for _, p := range want {
		var banners, services []string
		for _, b := range p.Banners {
			banners = append(banners, b.Banner)
		}
		for _, c := range p.Services {
			services = append(services, c.Component.Name+" "+c.Component.Version)
		}
		wantPorts = append(wantPorts, fmt.Sprintf("%s %d/%s %s first %s last %s scan %s x%d banners %q services %q cert %s",
			p.ID, p.Port, p.Protocol, p.Status, p.FirstSeenDateTime, p.LastSeenDateTime, p.LastScanDateTime, p.TimesObserved, banners, services, sha1[p.MostRecentSslCertificate]))
		if p.MostRecentSslCertificate != "" {
			wantCerts = append(wantCerts, p.MostRecentSslCertificate+" "+sha1[p.MostRecentSslCertificate])
		}
	}
	if strings.Join(got, "\n") != strings.Join(wantPorts, "\n") {
		t.Errorf("hosts/127.0.0.1/ports decoded as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantPorts, "\n"))
	}
	if !sum.Host.IsAddress || sum.Host.ODataType != "#microsoft.graph.security.ipAddress" || sum.Host.FirstSeen == "" {
		t.Errorf("hosts/127.0.0.1 decoded as %+v, want an IpAddress with its first seen", sum.Host)
	}
	if !sum.Hostname.IsHostname || sum.Hostname.ID != "localhost" || sum.Hostname.Ports != len(want) {
		t.Errorf("hosts/localhost decoded as %+v, want a Hostname whose ports are the %d of its address", sum.Hostname, len(want))
	}
	// hosts/{id}/sslCertificates: each certificate with the ports it was
	// seen on (in these captures, the ports that presented it last).
	onPorts := map[string]string{}
	var shas []string
	for _, p := range want {
		if sha := sha1[p.MostRecentSslCertificate]; sha != "" {
			if _, ok := onPorts[sha]; !ok {
				shas = append(shas, sha)
			}
			onPorts[sha] += fmt.Sprintf(" %d", p.Port)
		}
	}
	var wantHSC []string
	for _, sha := range shas {
		wantHSC = append(wantHSC, sha+" on"+onPorts[sha])
	}
	if len(wantHSC) == 0 || strings.Join(sum.HostCertificates, "\n") != strings.Join(wantHSC, "\n") {
		t.Errorf("hosts/127.0.0.1/sslCertificates: %q, want %q", sum.HostCertificates, wantHSC)
	}
	if len(sum.Components) == 0 || sum.ComponentGet == "" || !slices.ContainsFunc(sum.Components, func(c string) bool { return strings.HasPrefix(c, sum.ComponentGet+" (") }) {
		t.Errorf("components %q, one read by id %q", sum.Components, sum.ComponentGet)
	}
	var gotCerts []string
	for _, c := range sum.Certificates {
		gotCerts = append(gotCerts, c.ID+" "+c.Sha1)
		if c.NotAfter == "" || c.RelatedHost != "127.0.0.1" {
			t.Errorf("sslCertificates/%s: expiration %q, related host %q", c.ID, c.NotAfter, c.RelatedHost)
		}
	}
	if len(wantCerts) == 0 || strings.Join(gotCerts, "\n") != strings.Join(wantCerts, "\n") {
		t.Errorf("certificates read by id\n%s\nwant\n%s", strings.Join(gotCerts, "\n"), strings.Join(wantCerts, "\n"))
	}
	if sum.ByID.ID != want[0].ID || sum.ByID.Port != want[0].Port || sum.ByID.HostID != "127.0.0.1" {
		t.Errorf("hostPorts/{id}: %+v, want %s (port %d) with the stub of host 127.0.0.1", sum.ByID, want[0].ID, want[0].Port)
	}
	var wantWalk, wantOpen []int
	for _, p := range want {
		wantWalk = append(wantWalk, p.Port)
	}
	for i := len(want) - 1; i >= 0; i-- {
		if want[i].Status == "open" {
			wantOpen = append(wantOpen, want[i].Port)
		}
	}
	if sum.PageIterator.Pages != len(want) || fmt.Sprint(sum.PageIterator.Ports) != fmt.Sprint(wantWalk) {
		t.Errorf("PageIterator over $top=1: %d items, ports %v; want %v", sum.PageIterator.Pages, sum.PageIterator.Ports, wantWalk)
	}
	if sum.Search.Count != len(wantOpen) || fmt.Sprint(sum.Search.Ports) != fmt.Sprint(wantOpen) {
		t.Errorf("hostPorts?$filter=…&$orderby=port desc&$count=true: count %d, ports %v; want %v", sum.Search.Count, sum.Search.Ports, wantOpen)
	}
	if sum.Count != len(want) {
		t.Errorf("hosts/127.0.0.1/ports/$count: %d, want %d", sum.Count, len(want))
	}
	if sum.NotFound.Status != 404 || sum.NotFound.Code != "ResourceNotFound" {
		t.Errorf("unknown host: %+v, want 404 ResourceNotFound", sum.NotFound)
	}
	s.stop(t)
}
