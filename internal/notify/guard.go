// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"portolan"
)

// The URL rules of search-and-changes.md §5. A notification URL is a
// request Portolan makes on a subscriber's behalf from inside the
// operator's network, the classic server-side request forgery: the rules
// keep it from reaching the cloud's metadata service, the operator's
// private networks or anything that is not a webhook. They are checked
// when a subscription is created and again at each delivery, and the
// transport dials only the address it checked (Guard.dial): a DNS answer
// that changes between the check and the connection (rebinding) is checked
// again, never trusted.

// Resolver looks host names up; *net.Resolver is one, tests inject others.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard applies the URL rules and makes the requests that must obey them.
type Guard struct {
	allow    []netip.Prefix
	resolver Resolver
	dialer   net.Dialer
	// validation is the client of the handshakes, made once so that its
	// connections are pooled rather than left open per request.
	validation func() *http.Client
}

// NewGuard returns a Guard that lets private addresses within allow through
// (serve --notify-allow) and resolves names with r (nil: the system's).
func NewGuard(allow []netip.Prefix, r Resolver) *Guard {
	if r == nil {
		r = net.DefaultResolver
	}
	g := &Guard{allow: allow, resolver: r, dialer: net.Dialer{Timeout: DeliveryTimeout}}
	g.validation = sync.OnceValue(func() *http.Client { return g.client(DeliveryTimeout) })
	return g
}

// ParseAllow reads --notify-allow: CIDRs (or single addresses),
// comma-separated.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", part)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", part)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// privateRanges are refused unless --notify-allow names them: RFC 1918,
// IPv6 unique local addresses and the carrier-grade NAT range of RFC 6598.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// thisNetwork (0.0.0.0/8) reaches the host itself on Linux, like the
// unspecified address.
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// refusal says why a receiver may not be at a: "" when it may. (http is
// allowed to loopback addresses only, nothing else would protect the
// notifications on the way: check says so after.)
func (g *Guard) refusal(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return ""
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return "an unspecified address"
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return "a link-local address (such as a cloud metadata service)"
	case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a multicast or broadcast address"
	}
	for _, p := range privateRanges {
		if p.Contains(a) {
			for _, ok := range g.allow {
				if ok.Contains(a) {
					return ""
				}
			}
			return "a private address (the server's operator may allow it with --notify-allow)"
		}
	}
	return ""
}

// parseURL checks the form of a notification URL: absolute http or https,
// a host, no user information (a password would end up in logs).
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, portolan.Errorf(portolan.EINVALID, "The notification URL '%s' is not an absolute https URL.", clip(raw))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, portolan.Errorf(portolan.EINVALID, "The notification URL '%s' is not an https URL.", clip(raw))
	}
	if u.User != nil {
		return nil, portolan.Errorf(portolan.EINVALID, "The notification URL '%s' carries user information; authenticate the notifications with clientState instead.", clip(redacted(u)))
	}
	if u.Fragment != "" {
		return nil, portolan.Errorf(portolan.EINVALID, "The notification URL '%s' has a fragment.", clip(raw))
	}
	return u, nil
}

// addresses resolves host (an IP literal is itself).
func (g *Guard) addresses(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
		return []netip.Addr{a.WithZone("")}, nil
	}
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	return addrs, err
}

// check resolves host and checks every address it has: one refused
// address refuses the host, so that a name cannot mix a public address
// (for the check) with a private one (for the connection).
func (g *Guard) check(ctx context.Context, host string, plainHTTP bool) ([]netip.Addr, error) {
	addrs, err := g.addresses(ctx, host)
	if err != nil {
		return nil, portolan.WrapError(portolan.EINVALID, err, "The host '%s' of the notification URL cannot be resolved.", clip(host))
	}
	for _, a := range addrs {
		if why := g.refusal(a); why != "" {
			return nil, portolan.Errorf(portolan.EINVALID, "The notification URL's host '%s' resolves to %s, %s: refused.", clip(host), a.Unmap(), why)
		}
		if plainHTTP && !a.Unmap().IsLoopback() {
			return nil, portolan.Errorf(portolan.EINVALID, "The notification URL's host '%s' resolves to %s, not a loopback address: http is allowed only to loopback addresses; use https.", clip(host), a.Unmap())
		}
	}
	return addrs, nil
}

// CheckURL checks a notification URL's form and the addresses its host
// resolves to now. Every error is EINVALID with a client-safe reason.
func (g *Guard) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	u, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	if _, err := g.check(ctx, u.Hostname(), u.Scheme == "http"); err != nil {
		return nil, err
	}
	return u, nil
}

type plainHTTPKey struct{}

// dial is the transport's only way out: it resolves and checks the host
// again and connects to a checked address, never to a name.
func (g *Guard) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	plain, _ := ctx.Value(plainHTTPKey{}).(bool)
	addrs, err := g.check(ctx, host, plain)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, a := range addrs {
		c, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// client returns an HTTP client whose connections go through dial, that
// ignores proxy settings (a proxy would connect where dial did not look)
// and follows no redirect (a 3xx is a failed delivery: a redirect could
// point anywhere).
func (g *Guard) client(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       g.dial,
			ForceAttemptHTTP2: true,
			// Many subscriptions often share one receiver: their
			// goroutines take turns on a bounded set of kept
			// connections to it rather than opening one per POST (a
			// hung receiver holds only its own host's connections).
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   64,
			MaxConnsPerHost:       64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// post sends body to u after checking u again; it returns the response
// status, with the body drained. body is not copied: the transport may
// still read it after post returns, so callers never reuse it.
func (g *Guard) post(ctx context.Context, c *http.Client, u *url.URL, contentType string, body []byte, read int64) (int, http.Header, []byte, error) {
	if _, err := g.check(ctx, u.Hostname(), u.Scheme == "http"); err != nil {
		return 0, nil, nil, err
	}
	ctx = context.WithValue(ctx, plainHTTPKey{}, u.Scheme == "http")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Portolan-Notifications")
	resp, err := c.Do(req)
	if err != nil {
		// *url.Error repeats the URL, whose path or query may hold the
		// receiver's secret (or the validation token): the log gets
		// what failed, not where.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("notify: POST to %s: %w", u.Host, ue.Err)
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, read))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, resp.Header, b, err
}

// ValidationFailed is the client's sentence for a failed handshake (§5).
const ValidationFailed = "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."

// ValidateEndpoint implements portolan.EndpointChecker: the URL rules, then
// Graph's handshake: a POST to the URL with ?validationToken=<opaque>,
// answered within DeliveryTimeout by 200, text/plain, the token.
func (g *Guard) ValidateEndpoint(ctx context.Context, raw string) error {
	u, err := g.CheckURL(ctx, raw)
	if err != nil {
		return err
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	v := *u
	q := v.Query()
	q.Set("validationToken", token)
	v.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	status, h, body, err := g.post(ctx, g.validation(), &v, "text/plain; charset=utf-8", nil, int64(len(token))+1024)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("notify: validation of %s: status %d", u.Host, status)
	}
	if err == nil {
		if mt, _, perr := mime.ParseMediaType(h.Get("Content-Type")); perr != nil || mt != "text/plain" {
			err = fmt.Errorf("notify: validation of %s: content type %q, not text/plain", u.Host, h.Get("Content-Type"))
		} else if strings.TrimSpace(string(body)) != token {
			err = fmt.Errorf("notify: validation of %s: the body does not echo the token", u.Host)
		}
	}
	if err != nil {
		if portolan.ErrorCode(err) == portolan.EINVALID {
			return err // refused at the dial: the URL rules' own message
		}
		return portolan.WrapError(portolan.EVALIDATION, err, ValidationFailed)
	}
	return nil
}

var _ portolan.EndpointChecker = (*Guard)(nil)

// redacted is u without its user information, for messages.
func redacted(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}

func clip(s string) string { return portolan.CleanText(s, 200) }
