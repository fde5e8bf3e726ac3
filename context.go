// SPDX-License-Identifier: Apache-2.0

package portolan

import "context"

// Principal is the caller of the API, as its verified token describes it.
type Principal struct {
	// Subject is the token's sub (or oid) claim, for the log.
	Subject string
	// TenantID is the token's tid claim.
	TenantID string
	// ApplicationID is the client application's id: the token's appid
	// (Entra v1) or azp (v2, OpenID Connect) claim, "" when absent.
	ApplicationID string
	// Scopes are the delegated permissions (scp), Roles the application
	// permissions (roles).
	Scopes []string
	Roles  []string
}

// HasPermission reports whether the principal was granted permission either
// as a delegated scope or as an application role.
func (p *Principal) HasPermission(permission string) bool {
	for _, s := range p.Scopes {
		if s == permission {
			return true
		}
	}
	for _, r := range p.Roles {
		if r == permission {
			return true
		}
	}
	return false
}

// PermissionThreatIntelligenceRead is the permission every threat-intelligence
// endpoint requires.
const PermissionThreatIntelligenceRead = "ThreatIntelligence.Read.All"

// PermissionIngest is the application role (or delegated scope) that lets a
// caller write observations through the import endpoint. It is distinct
// from reading so that a read token can never write.
const PermissionIngest = "Portolan.Ingest"

type contextKey int

const principalContextKey contextKey = iota + 1

// NewContextWithPrincipal returns ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalContextKey, p)
}

// PrincipalFromContext returns the principal of the request, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalContextKey).(*Principal)
	return p
}

// TokenVerifier checks a bearer token. It returns the caller's principal, an
// EUNAUTHORIZED error for a token that is missing, malformed, expired, not
// yet valid, wrongly signed, or for another issuer or audience, and an
// EFORBIDDEN error for a valid token that lacks the permission or comes from
// a refused tenant. Error messages are Graph's client-safe sentences; the
// precise reason is in the wrapped cause, for the log.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (*Principal, error)
}

// PermissionVerifier is implemented by verifiers that can authorize a token
// for a permission other than PermissionThreatIntelligenceRead (the import
// endpoint needs PermissionIngest). Its errors are those of TokenVerifier,
// EFORBIDDEN naming the permission that is missing.
type PermissionVerifier interface {
	VerifyTokenFor(ctx context.Context, token, permission string) (*Principal, error)
}

const freshReadContextKey contextKey = principalContextKey + 1

// NewContextFreshRead returns ctx asking the store to answer from its
// records, past any cache of its own: the caller sent "Cache-Control:
// no-cache". A store's caches are kept consistent with what it committed
// itself, but may learn of another process's commits a moment later.
func NewContextFreshRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshReadContextKey, true)
}

// FreshReadFromContext reports whether ctx asks for a fresh read
// (NewContextFreshRead).
func FreshReadFromContext(ctx context.Context) bool {
	fresh, _ := ctx.Value(freshReadContextKey).(bool)
	return fresh
}
