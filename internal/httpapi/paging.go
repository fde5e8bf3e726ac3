// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"

	"portolan"
	"portolan/internal/odata"
)

// A $skiptoken is the keyset position after which the next page starts,
// signed so that clients can neither forge positions nor replay a token on
// another collection. Keyset (not offset) positions keep paging stable while
// ingestion adds records. Layout, base64url without padding:
//
//	version(1) kind(1) position(...) HMAC-SHA256(key, version kind len(path) path position)(32)
//
// The version byte lets a later format be told apart from this one; tokens
// of an unknown version are refused like tampered ones.
const (
	tokenVersion = 1
	tokenKindID  = 1 // position: the last entity id (portolan.ListFilter.AfterID)
	tokenKindKey = 2 // position: a portolan.HostPortKey
)

const tokenMACLen = sha256.Size

// errBadToken is the answer to every token that fails to decode or verify:
// it says nothing about why, so it is no oracle.
var errBadToken = &portolan.Error{Code: portolan.EINVALID, Target: "$skiptoken",
	Message: "The $skiptoken is not valid for this request; follow @odata.nextLink as returned."}

func (s *Server) signToken(path string, kind byte, position []byte) string {
	b := make([]byte, 0, 2+len(position)+tokenMACLen)
	b = append(b, tokenVersion, kind)
	b = append(b, position...)
	b = append(b, s.tokenMAC(path, kind, position)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) tokenMAC(path string, kind byte, position []byte) []byte {
	m := hmac.New(sha256.New, s.tokenKey)
	var hdr [2 + binary.MaxVarintLen64]byte
	hdr[0], hdr[1] = tokenVersion, kind
	n := binary.PutUvarint(hdr[2:], uint64(len(path)))
	m.Write(hdr[:2+n])
	m.Write([]byte(path))
	m.Write(position)
	return m.Sum(nil)
}

// openToken verifies a token for path and returns its position.
func (s *Server) openToken(path string, kind byte, token string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 2+tokenMACLen || raw[0] != tokenVersion || raw[1] != kind {
		return nil, errBadToken
	}
	position := raw[2 : len(raw)-tokenMACLen]
	if !hmac.Equal(raw[len(raw)-tokenMACLen:], s.tokenMAC(path, kind, position)) {
		return nil, errBadToken
	}
	return position, nil
}

// idToken is the token of a list ordered by id, positioned after id.
func (s *Server) idToken(path, id string) string {
	return s.signToken(path, tokenKindID, []byte(id))
}

func (s *Server) openIDToken(path, token string) (string, error) {
	pos, err := s.openToken(path, tokenKindID, token)
	if err != nil {
		return "", err
	}
	return string(pos), nil
}

// keyToken is the token of a port list, positioned after k.
func (s *Server) keyToken(path string, k portolan.HostPortKey) string {
	pos := make([]byte, 0, 8+len(k.Host))
	pos = binary.AppendUvarint(pos, uint64(k.Port))
	pos = binary.AppendUvarint(pos, uint64(len(k.Protocol)))
	pos = append(pos, k.Protocol...)
	pos = append(pos, k.Host...)
	return s.signToken(path, tokenKindKey, pos)
}

func (s *Server) openKeyToken(path, token string) (*portolan.HostPortKey, error) {
	pos, err := s.openToken(path, tokenKindKey, token)
	if err != nil {
		return nil, err
	}
	port, n := binary.Uvarint(pos)
	if n <= 0 || port > 65535 {
		return nil, errBadToken
	}
	pos = pos[n:]
	plen, n := binary.Uvarint(pos)
	if n <= 0 || plen > uint64(len(pos)-n) {
		return nil, errBadToken
	}
	pos = pos[n:]
	return &portolan.HostPortKey{Port: int(port), Protocol: portolan.Protocol(pos[:plen]), Host: string(pos[plen:])}, nil
}

// baseURL is scheme://host of the request, for absolute links. The scheme
// is https when the connection is TLS, or, when the server is configured to
// trust a proxy, what X-Forwarded-Proto says.
func (s *Server) appendBaseURL(b []byte, r *http.Request) []byte {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if s.trustProto {
		switch p := strings.ToLower(strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Proto")))); p {
		case "http", "https":
			scheme = p
		}
	}
	b = append(b, scheme...)
	b = append(b, "://"...)
	return append(b, r.Host...)
}

func firstValue(s string) string {
	if i := strings.IndexByte(s, ','); i >= 0 {
		return s[:i]
	}
	return s
}

// appendContext appends the "@odata.context" member: the absolute metadata
// URL, '#', the path (security/threatIntelligence/...), the select list
// when $select or $expand shaped the entities, and suffix ("/$entity" for a
// single entity).
func (s *Server) appendContext(b []byte, r *http.Request, rt route, path string, q *odata.Query, suffix string) []byte {
	b = append(b, `"@odata.context":`...)
	ctx := getBuffer()
	defer putBuffer(ctx)
	c := s.appendBaseURL((*ctx)[:0], r)
	c = append(c, '/')
	c = append(c, rt.root...)
	c = append(c, "/$metadata#security/threatIntelligence/"...)
	c = append(c, path...)
	if q != nil && (q.Select != nil || len(q.Expand) > 0) {
		c = append(c, '(')
		first := true
		if q.Select != nil {
			for _, n := range q.Select.Names {
				if !first {
					c = append(c, ',')
				}
				first = false
				c = append(c, n...)
			}
		}
		for _, e := range q.Expand {
			if !first {
				c = append(c, ',')
			}
			first = false
			c = append(c, e.Property...)
			c = append(c, '(')
			if e.Select != nil {
				c = append(c, strings.Join(e.Select.Names, ",")...)
			}
			c = append(c, ')')
		}
		c = append(c, ')')
	}
	c = append(c, suffix...)
	*ctx = c
	return appendStringBytes(b, c)
}

// keyLiteral writes an OData string key in parentheses for a context URL:
// quotes doubled, and characters that would end or confuse the URL escaped.
func keyLiteral(key string) string {
	var b strings.Builder
	b.WriteString("('")
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '\'':
			b.WriteString("''")
		case c <= ' ' || c >= 0x7f || c == '/' || c == '#' || c == '?' || c == '%' || c == '(' || c == ')':
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&0xF])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("')")
	return b.String()
}

// appendNextLink appends the "@odata.nextLink" member: the request's own
// URL (same scheme, host and path) with its options except $skip and
// $skiptoken, verbatim, plus the new $skiptoken. $skip is dropped because the
// token's position already lies past the skipped entities.
func (s *Server) appendNextLink(b []byte, r *http.Request, q *odata.Query, token string) []byte {
	b = append(b, `,"@odata.nextLink":`...)
	buf := getBuffer()
	defer putBuffer(buf)
	u := s.appendBaseURL((*buf)[:0], r)
	u = append(u, r.URL.EscapedPath()...)
	u = append(u, '?')
	for _, o := range q.Options {
		if o.Option == odata.Skip || o.Option == odata.SkipToken {
			continue
		}
		u = append(u, o.Encoded...)
		u = append(u, '&')
	}
	u = append(u, "$skiptoken="...)
	u = append(u, token...)
	*buf = u
	return appendStringBytes(b, u)
}
