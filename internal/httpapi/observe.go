// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"strings"
	"time"

	"portolan"
)

// Observer is told what the server does, for metrics. Its methods are
// called on the request path and must be cheap and safe for concurrent use.
type Observer interface {
	// Request is one answered request: its route (one of RouteNames:
	// "other" for a path no route takes), its status and how long it took.
	Request(route string, status int, d time.Duration)
	// CacheLookup is one look into the response cache.
	CacheLookup(hit bool)
	// TokenRefused is one refused token, with a reason of a small fixed
	// set: missing, expired, signature, audience, issuer, permission,
	// invalid.
	TokenRefused(reason string)
}

// routeNames label the routes in metrics: a fixed set, so a label never
// carries a key.
var routeNames = map[routeKind]string{
	routeMetadata:           "metadata",
	routeHost:               "hosts/{id}",
	routeHostPorts:          "hosts/{id}/ports",
	routeHostPortsCount:     "hosts/{id}/ports/$count",
	routeHostHostPort:       "hosts/{id}/ports/{id}",
	routeHostComponents:     "hosts/{id}/components",
	routeHostSSLCerts:       "hosts/{id}/sslCertificates",
	routeHostPort:           "hostPorts/{id}",
	routeHostPortHost:       "hostPorts/{id}/host",
	routeHostPortCert:       "hostPorts/{id}/mostRecentSslCertificate",
	routeHostComponent:      "hostComponents/{id}",
	routeHostSSLCert:        "hostSslCertificates/{id}",
	routeSSLCerts:           "sslCertificates",
	routeSSLCert:            "sslCertificates/{id}",
	routeRelatedHosts:       "sslCertificates/{id}/relatedHosts",
	routeHostPortsAll:       "hostPorts",
	routeHostPortsAllCount:  "hostPorts/$count",
	routeHostsAll:           "hosts",
	routeHostsAllCount:      "hosts/$count",
	routeSSLCertsCount:      "sslCertificates/$count",
	routeComponentsAll:      "hostComponents",
	routeComponentsAllCount: "hostComponents/$count",
	routeHostCertsAll:       "hostSslCertificates",
	routeHostCertsAllCount:  "hostSslCertificates/$count",
	routeHostPortsDelta:     "hostPorts/delta",
	routeHostsDelta:         "hosts/delta",
	routeSSLCertsDelta:      "sslCertificates/delta",
	routeSubscriptions:      "subscriptions",
	routeSubscription:       "subscriptions/{id}",
}

// RouteNames returns every route label Request may be given, so that a
// metrics exporter can create its series up front.
func RouteNames() []string {
	out := make([]string, 0, len(routeNames)+2)
	for _, n := range routeNames {
		out = append(out, n)
	}
	return append(out, "healthz", "readyz", "portolan/v1/imports", "other")
}

// routeLabel names the route of path for metrics.
func routeLabel(path string) string {
	switch path {
	case "/healthz":
		return "healthz"
	case "/readyz":
		return "readyz"
	case "/portolan/v1/imports":
		return "portolan/v1/imports"
	}
	rt, err := parseRoute(path)
	if err != nil {
		return "other"
	}
	if name, ok := routeNames[rt.kind]; ok {
		return name
	}
	return "other"
}

// refusalReason sorts a refused token into Observer's fixed reasons by the
// verifier's cause, which names the check that failed.
func refusalReason(token string, err error) string {
	if token == "" {
		return "missing"
	}
	if portolan.ErrorCode(err) == portolan.EFORBIDDEN {
		return "permission"
	}
	cause := strings.ToLower(err.Error())
	for _, r := range [...]string{"expired", "signature", "audience", "issuer"} {
		if strings.Contains(cause, r) {
			return r
		}
	}
	switch {
	case strings.Contains(cause, `"exp"`):
		return "expired"
	case strings.Contains(cause, `"aud"`):
		return "audience"
	case strings.Contains(cause, `"iss"`):
		return "issuer"
	}
	return "invalid"
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Request(string, int, time.Duration) {}
func (nopObserver) CacheLookup(bool)                   {}
func (nopObserver) TokenRefused(string)                {}
