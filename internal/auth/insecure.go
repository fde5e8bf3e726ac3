// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"portolan"
)

// InsecureSubject is the subject of every request under --insecure-no-auth,
// so that the log marks them.
const InsecureSubject = "insecure-no-auth"

// InsecureVerifier accepts every request, token or not, as a caller granted
// ThreatIntelligence.Read.All. It exists for local experiments
// (--insecure-no-auth) and warns on every call so that it cannot go
// unnoticed; serve it only on a loopback address (see CheckLoopback).
type InsecureVerifier struct {
	logger *slog.Logger
}

var _ portolan.TokenVerifier = (*InsecureVerifier)(nil)

// NewInsecureVerifier returns an InsecureVerifier that warns through logger
// (nil means slog.Default()).
func NewInsecureVerifier(logger *slog.Logger) *InsecureVerifier {
	if logger == nil {
		logger = slog.Default()
	}
	return &InsecureVerifier{logger: logger}
}

// VerifyToken implements portolan.TokenVerifier; it never fails.
func (v *InsecureVerifier) VerifyToken(ctx context.Context, token string) (*portolan.Principal, error) {
	v.logger.WarnContext(ctx, "auth: --insecure-no-auth: request accepted without verifying any token", "token_sent", token != "")
	// A fresh principal per call: the caller may keep or change it.
	return &portolan.Principal{
		Subject: InsecureSubject,
		Scopes:  []string{portolan.PermissionThreatIntelligenceRead},
	}, nil
}

// CheckLoopback returns nil when the listen address addr ("host:port", or a
// bare host) is a loopback address: 127.0.0.0/8, ::1 or localhost. An empty
// host listens on every interface and is refused.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		// A bare host, possibly a bracketed IPv6 literal.
		host = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	}
	if host == "" {
		return fmt.Errorf("auth: listen address %q listens on every interface; --insecure-no-auth needs a loopback address such as 127.0.0.1:port", addr)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	// Other names are refused without resolving them: what a name resolves
	// to can change after this check.
	ip, err := netip.ParseAddr(host)
	if err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("auth: listen address %q is not loopback; --insecure-no-auth listens only on 127.0.0.0/8, ::1 or localhost", addr)
}

var _ portolan.PermissionVerifier = (*InsecureVerifier)(nil)

// VerifyTokenFor implements portolan.PermissionVerifier: --insecure-no-auth
// opens reading only, never writing, so any other permission is refused.
func (v *InsecureVerifier) VerifyTokenFor(ctx context.Context, token, permission string) (*portolan.Principal, error) {
	if permission != portolan.PermissionThreatIntelligenceRead {
		return nil, portolan.WrapError(portolan.EFORBIDDEN,
			fmt.Errorf("auth: --insecure-no-auth grants only %s, not %s", portolan.PermissionThreatIntelligenceRead, permission),
			"Missing permission on the request: --insecure-no-auth opens reading only.")
	}
	return v.VerifyToken(ctx, token)
}
