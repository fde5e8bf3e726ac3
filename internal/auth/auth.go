// SPDX-License-Identifier: Apache-2.0

// Package auth verifies the bearer tokens of the API as Microsoft Graph does:
// a JWT signed by a trusted key, for the right issuer and audience, that
// grants ThreatIntelligence.Read.All. It knows nothing of HTTP routing; the
// middleware in internal/httpapi extracts the token and writes the response.
//
// Trust comes from one of three sources: an OpenID Connect issuer (discovery
// plus a cached JWKS, see NewOIDCVerifier), a static JWKS file
// (NewJWKSFileVerifier), or the local issuer whose signing key lives in the
// data directory (OpenLocalIssuer), which is the default. A server chooses
// among them, or none for local experiments, with one Config, and Open
// builds the verifier: the rules of which settings go together live here,
// not in the command that reads them.
//
// The package is built on github.com/lestrrat-go/jwx/v3 because it is one
// maintained library for JWS, JWK, JWKS and JWT with an explicit algorithm
// allow-list and a JWKS cache with refresh; github.com/coreos/go-oidc would
// need go-jose as well and still leave us to write the local issuer.
package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"portolan"
)

// Audiences of Microsoft Graph tokens. The local issuer mints the first and
// accepts both, and both are the default audience of the other trust sources.
const (
	// GraphAudience is Microsoft Graph's resource URI.
	GraphAudience = "https://graph.microsoft.com"
	// GraphApplicationID is Microsoft Graph's application ID, the aud of
	// Entra v2 tokens for Graph.
	GraphApplicationID = "00000003-0000-0000-c000-000000000000"
)

// PersonalAccountTenant is the tenant of personal Microsoft accounts, which
// the threat-intelligence API does not support: their tokens get a 403.
const PersonalAccountTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// MaxTokenSize is the largest token accepted. Entra tokens stay far below it
// even with many groups; anything larger is refused before it is parsed so
// that a hostile header costs no decoding work.
const MaxTokenSize = 16 << 10

// DefaultClockSkew is how far exp and nbf may be off when Options.ClockSkew
// is zero: enough for hosts whose clocks drift, short enough that an
// expired token dies quickly.
const DefaultClockSkew = time.Minute

// Client-safe messages, Graph's own sentences. They never say which check
// failed; the wrapped cause does, for the log.
const (
	msgEmpty     = "Access token is empty."
	msgCompact   = "CompactToken parsing failed with error code: 80049217"
	msgInvalid   = "Access token validation failure."
	msgForbidden = "Insufficient privileges to complete the operation."
)

// ErrMissingToken is the cause of the error for an empty token, so that the
// HTTP layer can tell "no credentials" (a bare WWW-Authenticate challenge)
// from "bad credentials".
var ErrMissingToken = errors.New("auth: no access token")

// allowedAlgorithms is the allow-list of signature algorithms. It is the
// only place an algorithm name is trusted: never none, never HMAC (a public
// key must not double as a shared secret), nothing the token's header
// invents.
var allowedAlgorithms = []jwa.SignatureAlgorithm{jwa.RS256(), jwa.PS256(), jwa.ES256(), jwa.EdDSA()}

// Options tune a Verifier. The zero value gives the defaults.
type Options struct {
	// ClockSkew is the tolerance on exp, nbf and iat. Zero means
	// DefaultClockSkew; a negative value means no tolerance at all.
	ClockSkew time.Duration
	// Now returns the current time; nil means time.Now. Tests inject it.
	Now func() time.Time
	// OIDC only (NewOIDCVerifier): the HTTP client for discovery and JWKS
	// (nil means a client with a timeout), the minimum interval between two
	// JWKS refreshes triggered by an unknown kid (zero means
	// DefaultMinRefreshInterval), and the logger for background refresh
	// failures (nil means slog.Default()).
	HTTPClient         *http.Client
	MinRefreshInterval time.Duration
	Logger             *slog.Logger
}

func (o Options) skew() time.Duration {
	switch {
	case o.ClockSkew == 0:
		return DefaultClockSkew
	case o.ClockSkew < 0:
		return 0
	}
	return o.ClockSkew
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Verifier verifies JWTs against a key set, an issuer and a set of accepted
// audiences, then authorizes them for the threat-intelligence API.
type Verifier struct {
	keys      KeySet
	issuer    string
	audiences []string
	opts      Options

	// verified remembers tokens that passed every check, so that a client
	// sending the same token on every request (all of them do) pays for
	// the signature once. See verifiedCache.
	verified verifiedCache
}

var _ portolan.TokenVerifier = (*Verifier)(nil)

// NewVerifier returns a Verifier that trusts the keys of keys for tokens
// whose iss is exactly issuer and whose aud contains one of audiences.
func NewVerifier(keys KeySet, issuer string, audiences []string, opts Options) (*Verifier, error) {
	if keys == nil {
		return nil, errors.New("auth: no key set")
	}
	if issuer == "" {
		return nil, errors.New("auth: no issuer; every token's iss must be checked")
	}
	audiences = slices.DeleteFunc(slices.Clone(audiences), func(s string) bool { return s == "" })
	if len(audiences) == 0 {
		return nil, errors.New("auth: no audience; every token's aud must be checked")
	}
	return &Verifier{keys: keys, issuer: issuer, audiences: audiences, opts: opts}, nil
}

// Issuer is the iss the verifier accepts.
func (v *Verifier) Issuer() string { return v.issuer }

// Audiences are the aud values the verifier accepts.
func (v *Verifier) Audiences() []string { return slices.Clone(v.audiences) }

// Keys is the key set the verifier trusts.
func (v *Verifier) Keys() KeySet { return v.keys }

// VerifyToken implements portolan.TokenVerifier. It returns EUNAUTHORIZED for
// an empty, malformed, oversized, wrongly signed, expired, not yet valid,
// foreign-issuer or foreign-audience token, and EFORBIDDEN for a valid token
// of the personal-account tenant or without ThreatIntelligence.Read.All.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (*portolan.Principal, error) {
	return v.VerifyTokenFor(ctx, token, portolan.PermissionThreatIntelligenceRead)
}

var _ portolan.PermissionVerifier = (*Verifier)(nil)

// VerifyTokenFor implements portolan.PermissionVerifier: the checks of
// VerifyToken, with permission required instead of
// ThreatIntelligence.Read.All.
func (v *Verifier) VerifyTokenFor(ctx context.Context, token, permission string) (*portolan.Principal, error) {
	p, err := v.authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	if !p.HasPermission(permission) {
		return nil, portolan.WrapError(portolan.EFORBIDDEN,
			fmt.Errorf("auth: subject %q (tid %q) lacks %s: scp %q, roles %q",
				p.Subject, p.TenantID, permission, p.Scopes, p.Roles), msgForbidden)
	}
	return p, nil
}

// authenticate checks everything about a token but the permission: the
// remembered tokens are authenticated ones, so that one cache serves every
// permission.
func (v *Verifier) authenticate(ctx context.Context, token string) (*portolan.Principal, error) {
	if token == "" {
		return nil, portolan.WrapError(portolan.EUNAUTHORIZED, ErrMissingToken, msgEmpty)
	}
	// The size is checked before anything is decoded, so the cost of a
	// hostile token is bounded by this comparison.
	if len(token) > MaxTokenSize {
		return nil, invalid(fmt.Errorf("auth: token is %d bytes, over the %d-byte limit", len(token), MaxTokenSize))
	}
	now := v.opts.now()
	if p := v.verified.get(ctx, v.keys, token, now); p != nil {
		return p, nil
	}
	if err := checkCompact(token); err != nil {
		return nil, portolan.WrapError(portolan.EUNAUTHORIZED, err, msgCompact)
	}
	if err := checkHeader(token); err != nil {
		return nil, invalid(err)
	}

	// The key provider picks the key by kid from the trusted set and pairs
	// it with an algorithm the key allows; the header's alg only selects
	// among those. WithAlgorithmMatch makes a mismatch fail outright.
	payload, err := jws.Verify([]byte(token),
		jws.WithCompact(),
		jws.WithKeyProvider(keyProvider{keys: v.keys}),
		jws.WithAlgorithmMatch(true),
		jws.WithCritValidation(true),
		jws.WithContext(ctx),
	)
	if err != nil {
		return nil, invalid(fmt.Errorf("auth: signature: %w", err))
	}
	// The payload must be the claims object itself; a nested JWS or JWE
	// would be parsed by jwt.Parse with rules we do not want to reason about.
	if p := bytes.TrimSpace(payload); len(p) == 0 || p[0] != '{' {
		return nil, invalid(errors.New("auth: payload is not a JSON object"))
	}
	// The signature was verified just above on the compact form; this only
	// decodes the claims that signature covers.
	tok, err := jwt.Parse(payload, jwt.WithVerify(false), jwt.WithValidate(false))
	if err != nil {
		return nil, invalid(fmt.Errorf("auth: claims: %w", err))
	}
	if err := jwt.Validate(tok,
		jwt.WithClock(jwt.ClockFunc(v.opts.now)),
		jwt.WithAcceptableSkew(v.opts.skew()),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithIssuer(v.issuer),
		jwt.WithContext(ctx),
	); err != nil {
		iss, _ := tok.Issuer()
		return nil, invalid(fmt.Errorf("auth: claims (iss %q): %w", clip(iss), err))
	}
	if aud, _ := tok.Audience(); !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.audiences, a) }) {
		return nil, invalid(fmt.Errorf("auth: audience %q is not one of %q", clipAll(aud), v.audiences))
	}

	p := principalOf(tok)
	// Graph refuses personal Microsoft accounts on these endpoints, whatever
	// the token grants.
	if p.TenantID == PersonalAccountTenant {
		return nil, portolan.WrapError(portolan.EFORBIDDEN,
			fmt.Errorf("auth: subject %q is a personal Microsoft account (tid %s)", p.Subject, p.TenantID), msgForbidden)
	}
	if exp, ok := tok.Expiration(); ok {
		v.verified.put(ctx, v.keys, token, p, now, exp.Add(v.opts.skew()))
	}
	return p, nil
}

// invalid wraps the precise reason a token was refused in the one sentence
// the client sees.
func invalid(cause error) error {
	return portolan.WrapError(portolan.EUNAUTHORIZED, cause, msgInvalid)
}

// checkCompact checks that token is a JWS in compact serialization: three
// base64url segments (the signature may be empty, so that alg "none" is
// refused by the algorithm check and logged as such). Anything else, a JWE,
// the JSON serialization, or random text, is not a token Graph would parse.
func checkCompact(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("auth: token has %d dot-separated segments, a compact JWS has 3", len(parts))
	}
	for i, part := range parts {
		if part == "" && i < 2 {
			return fmt.Errorf("auth: segment %d of the token is empty", i+1)
		}
		// The decoder skips CR and LF, so the alphabet is checked first:
		// a token is accepted only in the one spelling that was signed.
		if j := strings.IndexFunc(part, notBase64URL); j >= 0 {
			return fmt.Errorf("auth: segment %d of the token has a byte outside base64url at offset %d", i+1, j)
		}
		if _, err := base64.RawURLEncoding.Strict().DecodeString(part); err != nil {
			return fmt.Errorf("auth: segment %d of the token is not unpadded base64url: %w", i+1, err)
		}
	}
	return nil
}

func notBase64URL(r rune) bool {
	return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}

// checkHeader refuses the protected headers we never honour, before any key
// is looked up. A key must come from the trust source, never from the token:
// jwk, jku, x5u and x5c are refused rather than ignored, so that the log
// shows the attempt. Duplicate members are refused because two JSON parsers
// may pick different ones.
func checkHeader(token string) error {
	raw, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	if err != nil {
		return fmt.Errorf("auth: header: %w", err)
	}
	header, err := decodeObject(raw)
	if err != nil {
		return fmt.Errorf("auth: header: %w", err)
	}
	var alg string
	if err := json.Unmarshal(header["alg"], &alg); err != nil || alg == "" {
		return errors.New(`auth: header has no "alg" string`)
	}
	if !slices.ContainsFunc(allowedAlgorithms, func(a jwa.SignatureAlgorithm) bool { return a.String() == alg }) {
		return fmt.Errorf("auth: algorithm %q is not allowed (allowed: RS256, PS256, ES256, EdDSA)", clip(alg))
	}
	for _, name := range []string{"jwk", "jku", "x5u", "x5c"} {
		if _, ok := header[name]; ok {
			return fmt.Errorf("auth: header carries %q; keys come only from the trust source", name)
		}
	}
	for _, name := range []string{"cty", "b64", "zip", "enc"} {
		if _, ok := header[name]; ok {
			return fmt.Errorf("auth: header carries %q, which access tokens never use", name)
		}
	}
	if rawTyp, ok := header["typ"]; ok {
		var typ string
		if err := json.Unmarshal(rawTyp, &typ); err != nil {
			return errors.New(`auth: header "typ" is not a string`)
		}
		// JWT is what Entra, Keycloak and Dex write; at+jwt is RFC 9068.
		// Refusing other types keeps a logout or DPoP token of the same
		// issuer from passing as an access token.
		switch strings.TrimPrefix(strings.ToLower(typ), "application/") {
		case "jwt", "at+jwt":
		default:
			return fmt.Errorf("auth: header typ %q is not an access token type", clip(typ))
		}
	}
	if rawKid, ok := header["kid"]; ok {
		var kid string
		if err := json.Unmarshal(rawKid, &kid); err != nil {
			return errors.New(`auth: header "kid" is not a string`)
		}
	}
	return nil
}

// decodeObject decodes one JSON object into its members, refusing
// duplicates and trailing data.
func decodeObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := t.(string)
		if !ok {
			return nil, errors.New("member name is not a string")
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("duplicate member %q", clip(name))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		members[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return members, nil
}

// principalOf reads the caller out of verified claims. sub identifies the
// caller for the log; Entra's oid stands in when sub is missing.
func principalOf(tok jwt.Token) *portolan.Principal {
	p := &portolan.Principal{}
	p.Subject, _ = tok.Subject()
	if p.Subject == "" {
		p.Subject = stringClaim(tok, "oid")
	}
	p.TenantID = stringClaim(tok, "tid")
	// Entra v1 tokens name the client application in appid, v2 and
	// OpenID Connect providers in azp.
	if p.ApplicationID = stringClaim(tok, "appid"); p.ApplicationID == "" {
		p.ApplicationID = stringClaim(tok, "azp")
	}
	// Entra writes scp as a space-separated string, Okta as an array, and
	// RFC 9068 (Keycloak) writes scope instead; scope is read only when
	// scp is absent so the two never merge.
	if tok.Has("scp") {
		p.Scopes = listClaim(tok, "scp")
	} else {
		p.Scopes = listClaim(tok, "scope")
	}
	p.Roles = listClaim(tok, "roles")
	return p
}

func stringClaim(tok jwt.Token, name string) string {
	var v any
	if err := tok.Get(name, &v); err != nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

// listClaim reads a claim that is either a space-separated string or an
// array of strings; other values are ignored.
func listClaim(tok jwt.Token, name string) []string {
	var v any
	if err := tok.Get(name, &v); err != nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case string:
		out = strings.Fields(v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	case []string:
		out = slices.DeleteFunc(slices.Clone(v), func(s string) bool { return s == "" })
	}
	return out
}

// clip shortens attacker-supplied strings before they reach the log.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func clipAll(ss []string) []string {
	if len(ss) > 8 {
		ss = append(ss[:8:8], "...")
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clip(s)
	}
	return out
}

// WWWAuthenticate returns the WWW-Authenticate header value (RFC 6750 §3)
// for an error of VerifyToken: a bare challenge when no token was sent,
// error="invalid_token" for a 401, error="insufficient_scope" for a 403, and
// "" for any other error. The description is the client-safe message.
func WWWAuthenticate(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMissingToken):
		// RFC 6750 §3.1: a request without credentials gets no error code.
		return "Bearer"
	}
	switch portolan.ErrorCode(err) {
	case portolan.EUNAUTHORIZED:
		return `Bearer error="invalid_token", error_description=` + quote(portolan.ErrorMessage(err))
	case portolan.EFORBIDDEN:
		return `Bearer error="insufficient_scope", error_description=` + quote(portolan.ErrorMessage(err)) +
			`, scope="` + portolan.PermissionThreatIntelligenceRead + `"`
	}
	return ""
}

// quote writes s as an RFC 9110 quoted-string.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", " ", "\n", " ")
	return `"` + r.Replace(s) + `"`
}
