// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"portolan"
)

// Verifying a signature costs far more than serving a cached page, and a
// client sends the same token with every request until it expires, so the
// Verifier remembers the tokens that passed every check. An entry is the
// SHA-256 of the whole token (so no prefix or look-alike matches) and is
// kept until the token expires, but never longer than verifiedTTL: a key
// that the issuer withdraws stops being honoured within that time. Failed
// tokens are not remembered; their cost is bounded by MaxTokenSize.
const (
	verifiedTTL        = 5 * time.Minute
	maxVerifiedEntries = 10000
)

type verifiedEntry struct {
	principal portolan.Principal
	until     time.Time
	// kid and key are the signing key the token was verified with; a hit
	// counts only while the key set still returns that very key, so a
	// refresh that withdraws or replaces it ends the entry at once.
	kid string
	key jwk.Key
}

type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedEntry
}

// tokenDigest is the SHA-256 of token, the key of its entry. Sum256 only
// reads its argument and keeps nothing of it, so it reads the string's own
// bytes: converting a token of a kilobyte or so to a slice would copy it
// on every request.
func tokenDigest(token string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// get returns a copy of the principal of a token verified before and still
// valid at now with a key keys still trusts, or nil.
func (c *verifiedCache) get(ctx context.Context, keys KeySet, token string, now time.Time) *portolan.Principal {
	h := tokenDigest(token)
	c.mu.Lock()
	e, ok := c.entries[h]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) {
		return nil
	}
	if k, err := keys.Key(ctx, e.kid); err != nil || k != e.key {
		return nil
	}
	p := e.principal
	return &p
}

// put remembers a verified token until expires (its exp plus the allowed
// skew), at most verifiedTTL from now.
func (c *verifiedCache) put(ctx context.Context, keys KeySet, token string, p *portolan.Principal, now, expires time.Time) {
	until := now.Add(verifiedTTL)
	if expires.Before(until) {
		until = expires
	}
	if !now.Before(until) {
		return
	}
	kid := headerKid(token)
	k, err := keys.Key(ctx, kid)
	if err != nil {
		return
	}
	h := tokenDigest(token)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxVerifiedEntries {
		// Dropping everything is simpler than tracking use, and costs one
		// verification per active client.
		c.entries = make(map[[sha256.Size]byte]verifiedEntry)
	}
	c.entries[h] = verifiedEntry{principal: *p, until: until, kid: kid, key: k}
}

// headerKid returns the kid of a token's header ("" when it has none); the
// token was checked by checkHeader before.
func headerKid(token string) string {
	raw, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	if err != nil {
		return ""
	}
	header, err := decodeObject(raw)
	if err != nil {
		return ""
	}
	var kid string
	json.Unmarshal(header["kid"], &kid)
	return kid
}
