// SPDX-License-Identifier: Apache-2.0

// Command graphsdk is an end-to-end test: the Microsoft Graph beta Go SDK
// (github.com/microsoftgraph/msgraph-beta-sdk-go, pinned in go.mod), its
// typed request builders and models, against a running `portolan serve
// --tls-self-signed`. cmd/portolan's TestGraphGoSDK builds and runs it; by
// hand:
//
//	portolan serve --demo --tls-self-signed --addr 127.0.0.1:8443   # prints the certificate and a token
//	cd test/graphsdk && PORTOLAN_URL=https://127.0.0.1:8443 PORTOLAN_TOKEN=<token> \
//	    PORTOLAN_CA_FILE=<certificate> go run .
//
// Environment: PORTOLAN_URL (https://HOST:PORT, no /beta), PORTOLAN_TOKEN,
// PORTOLAN_CA_FILE (the certificate serve printed), PORTOLAN_HOST (the host
// whose ports are read; default 127.0.0.1).
//
// It prints one JSON summary of what the SDK decoded on stdout and exits 0,
// or prints "graphsdk: FAIL: ..." on stderr and exits 1.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/microsoft/kiota-abstractions-go/authentication"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-beta-sdk-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models/odataerrors"
	msec "github.com/microsoftgraph/msgraph-beta-sdk-go/models/security"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/security"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// summary is what the SDK decoded, printed as JSON for TestGraphGoSDK to
// hold against the records the captures must give.
type summary struct {
	OK    bool   `json:"ok"`
	SDK   string `json:"sdk"`
	Ports []port `json:"ports"`
	Host  struct {
		ODataType string `json:"odataType"`
		IsAddress bool   `json:"isIpAddress"`
		FirstSeen string `json:"firstSeen"`
		LastSeen  string `json:"lastSeen"`
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
		Port     int32  `json:"port"`
		HostType string `json:"hostType"`
		HostID   string `json:"hostId"`
	} `json:"byId"`
	PageIterator struct {
		Pages int     `json:"pages"`
		Ports []int32 `json:"ports"`
	} `json:"pageIterator"`
	Search struct {
		Filter string  `json:"filter"`
		Count  int64   `json:"count"`
		Ports  []int32 `json:"ports"`
	} `json:"search"`
	NotFound struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	} `json:"notFound"`
	Count    int32 `json:"count"`
	Requests int64 `json:"requests"`
}

// port is one hostPort as the SDK's model holds it.
type port struct {
	ID             string   `json:"id"`
	Port           int32    `json:"port"`
	Protocol       string   `json:"protocol"`
	Status         string   `json:"status"`
	FirstSeen      string   `json:"firstSeen"`
	LastSeen       string   `json:"lastSeen"`
	LastScan       string   `json:"lastScan"`
	TimesObserved  int32    `json:"timesObserved"`
	Banners        []string `json:"banners"`
	Services       []string `json:"services"`
	CertificateSha string   `json:"certificateSha1"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "graphsdk: FAIL: %v\n", err)
		os.Exit(1)
	}
}

// staticToken hands the SDK the token it was given, for the server's host
// only (the SDK sends it nowhere else).
type staticToken struct {
	token string
	hosts *authentication.AllowedHostsValidator
}

func (s staticToken) GetAuthorizationToken(context.Context, *url.URL, map[string]any) (string, error) {
	return s.token, nil
}

func (s staticToken) GetAllowedHostsValidator() *authentication.AllowedHostsValidator { return s.hosts }

// countingTransport counts the requests the SDK sends.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func run() error {
	base := strings.TrimRight(os.Getenv("PORTOLAN_URL"), "/")
	token := os.Getenv("PORTOLAN_TOKEN")
	caFile := os.Getenv("PORTOLAN_CA_FILE")
	hostID := os.Getenv("PORTOLAN_HOST")
	if hostID == "" {
		hostID = "127.0.0.1"
	}
	if base == "" || token == "" || caFile == "" {
		return errors.New("set PORTOLAN_URL, PORTOLAN_TOKEN and PORTOLAN_CA_FILE")
	}
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The SDK's own pipeline (retry, redirect, compression, telemetry
	// middleware), over a transport that trusts the server's certificate.
	counter := &countingTransport{next: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	httpClient := &http.Client{Timeout: 20 * time.Second,
		Transport: khttp.NewCustomTransportWithParentTransport(counter, core.GetDefaultMiddlewaresWithOptions(&core.GraphClientOptions{GraphServiceVersion: "beta"})...)}
	hosts, err := authentication.NewAllowedHostsValidatorErrorCheck([]string{u.Host})
	if err != nil {
		return err
	}
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		authentication.NewBaseBearerTokenAuthenticationProvider(staticToken{token, hosts}), nil, nil, httpClient)
	if err != nil {
		return err
	}
	adapter.SetBaseUrl(base + "/beta")
	client := msgraph.NewGraphServiceClient(adapter)
	ti := client.Security().ThreatIntelligence()
	var sum summary
	sum.SDK = "github.com/microsoftgraph/msgraph-beta-sdk-go"

	// The ports of the host, certificates expanded.
	page, err := ti.Hosts().ByHostId(hostID).Ports().Get(ctx, &security.ThreatIntelligenceHostsItemPortsRequestBuilderGetRequestConfiguration{
		QueryParameters: &security.ThreatIntelligenceHostsItemPortsRequestBuilderGetQueryParameters{Expand: []string{"mostRecentSslCertificate"}},
	})
	if err != nil {
		return fmt.Errorf("hosts/%s/ports: %w", hostID, describe(err))
	}
	if page.GetOdataNextLink() != nil {
		return fmt.Errorf("hosts/%s/ports: a second page (%s) where one was expected", hostID, *page.GetOdataNextLink())
	}
	for _, hp := range page.GetValue() {
		p := port{ID: str(hp.GetId()), Port: i32(hp.GetPort()), FirstSeen: when(hp.GetFirstSeenDateTime()),
			LastSeen: when(hp.GetLastSeenDateTime()), LastScan: when(hp.GetLastScanDateTime()), TimesObserved: i32(hp.GetTimesObserved())}
		if hp.GetStatus() != nil {
			p.Status = hp.GetStatus().String()
		}
		if hp.GetProtocol() != nil {
			p.Protocol = hp.GetProtocol().String()
		}
		for _, b := range hp.GetBanners() {
			p.Banners = append(p.Banners, str(b.GetBanner()))
		}
		for _, s := range hp.GetServices() {
			if c := s.GetComponent(); c != nil {
				p.Services = append(p.Services, str(c.GetName())+" "+str(c.GetVersion()))
			}
		}
		if c := hp.GetMostRecentSslCertificate(); c != nil {
			p.CertificateSha = str(c.GetSha1())
		}
		sum.Ports = append(sum.Ports, p)
	}

	// The host itself: an ipAddress, told by its @odata.type.
	h, err := ti.Hosts().ByHostId(hostID).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("hosts/%s: %w", hostID, describe(err))
	}
	_, sum.Host.IsAddress = h.(msec.IpAddressable)
	sum.Host.ODataType = str(h.GetOdataType())
	sum.Host.FirstSeen, sum.Host.LastSeen = when(h.GetFirstSeenDateTime()), when(h.GetLastSeenDateTime())

	// A name: a hostname, whose ports are its addresses'.
	named, err := ti.Hosts().ByHostId("localhost").Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("hosts/localhost: %w", describe(err))
	}
	_, sum.Hostname.IsHostname = named.(msec.Hostnameable)
	sum.Hostname.ID = str(named.GetId())
	namedPorts, err := ti.Hosts().ByHostId("localhost").Ports().Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("hosts/localhost/ports: %w", describe(err))
	}
	sum.Hostname.Ports = len(namedPorts.GetValue())

	// The certificates the host presented, each with its ports, and one
	// read again by its id.
	hscs, err := ti.Hosts().ByHostId(hostID).SslCertificates().Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("hosts/%s/sslCertificates: %w", hostID, describe(err))
	}
	for _, hsc := range hscs.GetValue() {
		line := str(hsc.GetSslCertificate().GetSha1()) + " on"
		for _, p := range hsc.GetPorts() {
			line += fmt.Sprintf(" %d", i32(p.GetPort()))
		}
		again, err := ti.HostSslCertificates().ByHostSslCertificateId(str(hsc.GetId())).Get(ctx, nil)
		if err != nil {
			return fmt.Errorf("hostSslCertificates/%s: %w", str(hsc.GetId()), describe(err))
		}
		if str(again.GetId()) != str(hsc.GetId()) || len(again.GetPorts()) != len(hsc.GetPorts()) {
			return fmt.Errorf("hostSslCertificates/%s read by id differs from the host's list", str(hsc.GetId()))
		}
		sum.HostCertificates = append(sum.HostCertificates, line)
	}

	// Its components, and one of them by id.
	comps, err := ti.Hosts().ByHostId(hostID).Components().Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("hosts/%s/components: %w", hostID, describe(err))
	}
	for _, c := range comps.GetValue() {
		sum.Components = append(sum.Components, str(c.GetName())+" "+str(c.GetVersion())+" ("+str(c.GetCategory())+")")
	}
	if len(comps.GetValue()) > 0 {
		first := comps.GetValue()[0]
		c, err := ti.HostComponents().ByHostComponentId(str(first.GetId())).Get(ctx, nil)
		if err != nil {
			return fmt.Errorf("hostComponents/{id}: %w", describe(err))
		}
		sum.ComponentGet = str(c.GetName()) + " " + str(c.GetVersion())
	}

	// The certificates the ports presented, read by id.
	for _, p := range sum.Ports {
		if p.CertificateSha == "" {
			continue
		}
		hp, err := ti.HostPorts().ByHostPortId(p.ID).Get(ctx, &security.ThreatIntelligenceHostPortsHostPortItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &security.ThreatIntelligenceHostPortsHostPortItemRequestBuilderGetQueryParameters{Expand: []string{"mostRecentSslCertificate"}},
		})
		if err != nil {
			return fmt.Errorf("hostPorts/%s: %w", p.ID, describe(err))
		}
		id := str(hp.GetMostRecentSslCertificate().GetId())
		c, err := ti.SslCertificates().BySslCertificateId(id).Get(ctx, nil)
		if err != nil {
			return fmt.Errorf("sslCertificates/%s: %w", id, describe(err))
		}
		related, err := ti.SslCertificates().BySslCertificateId(id).RelatedHosts().Get(ctx, nil)
		if err != nil {
			return fmt.Errorf("sslCertificates/%s/relatedHosts: %w", id, describe(err))
		}
		entry := struct {
			ID          string `json:"id"`
			Sha1        string `json:"sha1"`
			Subject     string `json:"subject"`
			NotAfter    string `json:"notAfter"`
			RelatedHost string `json:"relatedHost"`
		}{ID: id, Sha1: str(c.GetSha1()), NotAfter: when(c.GetExpirationDateTime())}
		if s := c.GetSubject(); s != nil {
			entry.Subject = str(s.GetCommonName())
		}
		for _, h := range related.GetValue() {
			if _, ok := h.(msec.IpAddressable); ok {
				entry.RelatedHost = str(h.GetId())
			}
		}
		sum.Certificates = append(sum.Certificates, entry)
	}

	// A hostPort by its id (an id ending in "=", which the SDK's URI
	// template percent-encodes), with the stub of its host.
	if len(sum.Ports) > 0 {
		id := sum.Ports[0].ID
		hp, err := ti.HostPorts().ByHostPortId(id).Get(ctx, nil)
		if err != nil {
			return fmt.Errorf("hostPorts/%s: %w", id, describe(err))
		}
		sum.ByID.ID, sum.ByID.Port = str(hp.GetId()), i32(hp.GetPort())
		if hh := hp.GetHost(); hh != nil {
			sum.ByID.HostType, sum.ByID.HostID = str(hh.GetOdataType()), str(hh.GetId())
		}
	}

	// The ports a page at a time, walked by the SDK's page iterator.
	top := int32(1)
	first, err := ti.Hosts().ByHostId(hostID).Ports().Get(ctx, &security.ThreatIntelligenceHostsItemPortsRequestBuilderGetRequestConfiguration{
		QueryParameters: &security.ThreatIntelligenceHostsItemPortsRequestBuilderGetQueryParameters{Top: &top},
	})
	if err != nil {
		return fmt.Errorf("hosts/%s/ports?$top=1: %w", hostID, describe(err))
	}
	iter, err := core.NewPageIterator[msec.HostPortable](first, adapter, msec.CreateHostPortCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	err = iter.Iterate(ctx, func(hp msec.HostPortable) bool {
		sum.PageIterator.Pages++
		sum.PageIterator.Ports = append(sum.PageIterator.Ports, i32(hp.GetPort()))
		seen[str(hp.GetId())] = true
		return sum.PageIterator.Pages < 1000
	})
	if err != nil {
		return fmt.Errorf("page iterator: %w", describe(err))
	}

	// Estate-wide search: the host's open ports, newest port first.
	filter := "host/id eq '" + hostID + "' and status eq 'open'"
	count := true
	found, err := ti.HostPorts().Get(ctx, &security.ThreatIntelligenceHostPortsRequestBuilderGetRequestConfiguration{
		QueryParameters: &security.ThreatIntelligenceHostPortsRequestBuilderGetQueryParameters{Filter: &filter, Orderby: []string{"port desc"}, Count: &count},
	})
	if err != nil {
		return fmt.Errorf("hostPorts?$filter=%s: %w", filter, describe(err))
	}
	sum.Search.Filter = filter
	if found.GetOdataCount() != nil {
		sum.Search.Count = *found.GetOdataCount()
	}
	for _, hp := range found.GetValue() {
		sum.Search.Ports = append(sum.Search.Ports, i32(hp.GetPort()))
	}

	// The number of the host's ports alone ($count, text/plain).
	n, err := ti.Hosts().ByHostId(hostID).Ports().Count().Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("hosts/%s/ports/$count: %w", hostID, describe(err))
	}
	if n != nil {
		sum.Count = *n
	}

	// An address never observed: Graph's error, typed.
	_, err = ti.Hosts().ByHostId("203.0.113.254").Get(ctx, nil)
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		return fmt.Errorf("hosts/203.0.113.254: %v, want an ODataError", err)
	}
	sum.NotFound.Status = oe.ResponseStatusCode
	if e := oe.GetErrorEscaped(); e != nil {
		sum.NotFound.Code = str(e.GetCode())
	}

	sum.Requests = counter.n.Load()
	sum.OK = true
	out, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// describe adds the OData error's code and message, which the SDK's error
// string leaves out.
func describe(err error) error {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		return fmt.Errorf("%w (status %d, code %s: %s)", err, oe.ResponseStatusCode, str(oe.GetErrorEscaped().GetCode()), str(oe.GetErrorEscaped().GetMessage()))
	}
	return err
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func i32(n *int32) int32 {
	if n == nil {
		return 0
	}
	return *n
}

func when(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
