// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"context"
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"

	"portolan"
	"portolan/internal/odata"
)

// Delta queries (search-and-changes.md §4): hostPorts/delta, hosts/delta and
// sslCertificates/delta. A first request walks the collection like a search,
// remembering the store's change watermark from before the walk; its last
// page carries a deltaLink from that watermark. Following a deltaLink reads
// the change record from the token's position to the watermark of the
// moment (portolan.ChangeService), so that no change committed before the
// round is missed, and ends with a deltaLink from there. Every token is
// signed for the collection and the $filter and $select of the first
// request, which the links repeat.

// The token kinds of delta queries (paging.go has the others).
const (
	// tokenKindDeltaWalk: the watermark before the walk, then the keyset
	// position of the walk (a $skiptoken).
	tokenKindDeltaWalk = 4
	// tokenKindDeltaRound: since, until, then the position in the change
	// record (a $skiptoken).
	tokenKindDeltaRound = 5
	// tokenKindDelta: the position a deltaLink resumes from (a
	// $deltatoken).
	tokenKindDelta = 6
)

// Page sizes of Prefer: odata.maxpagesize.
const (
	defaultDeltaPage = 100
	maxDeltaPage     = 1000
)

var errBadDeltaToken = &portolan.Error{Code: portolan.EINVALID, Target: "$deltatoken",
	Message: "The $deltatoken is not valid for this request; follow @odata.deltaLink as returned."}

// deltaCollection is one collection with a delta function.
type deltaCollection[T any] struct {
	name   string
	typ    *odata.EntityType
	search func(*Server) func(context.Context, portolan.SearchQuery) (portolan.Page[T], error)
	delta  func(*Server) func(context.Context, portolan.DeltaQuery) (portolan.DeltaPage[T], error)
	append func(s *Server, ctx context.Context, q *odata.Query, items []T) (func(b []byte, i int) []byte, error)
}

var (
	hostPortsDelta = deltaCollection[*portolan.HostPort]{name: "hostPorts", typ: hostPortType,
		search: func(s *Server) func(context.Context, portolan.SearchQuery) (portolan.Page[*portolan.HostPort], error) {
			return s.search.SearchHostPorts
		},
		delta: func(s *Server) func(context.Context, portolan.DeltaQuery) (portolan.DeltaPage[*portolan.HostPort], error) {
			return s.changes.HostPortChanges
		},
		append: func(s *Server, ctx context.Context, q *odata.Query, items []*portolan.HostPort) (func(b []byte, i int) []byte, error) {
			v, err := s.newPortView(ctx, q, items)
			if err != nil {
				return nil, err
			}
			v.mask |= 1 << hpID
			return func(b []byte, i int) []byte { return appendHostPortMembers(b, true, items[i], v) }, nil
		}}
	hostsDelta = deltaCollection[*portolan.Host]{name: "hosts", typ: hostType,
		search: hostsCollection.search,
		delta: func(s *Server) func(context.Context, portolan.DeltaQuery) (portolan.DeltaPage[*portolan.Host], error) {
			return s.changes.HostChanges
		},
		append: func(s *Server, ctx context.Context, q *odata.Query, items []*portolan.Host) (func(b []byte, i int) []byte, error) {
			mask := q.Mask(hostType) | 1<<hID
			return func(b []byte, i int) []byte { return appendHostMembers(b, true, items[i], mask) }, nil
		}}
	certificatesDelta = deltaCollection[*portolan.SSLCertificate]{name: "sslCertificates", typ: sslCertificateType,
		search: certificatesCollection.search,
		delta: func(s *Server) func(context.Context, portolan.DeltaQuery) (portolan.DeltaPage[*portolan.SSLCertificate], error) {
			return s.changes.SSLCertificateChanges
		},
		append: func(s *Server, ctx context.Context, q *odata.Query, items []*portolan.SSLCertificate) (func(b []byte, i int) []byte, error) {
			mask := q.Mask(sslCertificateType) | 1
			return func(b []byte, i int) []byte { return appendCertificateMembers(b, true, items[i], mask) }, nil
		}}
)

// deltaState is what the tokens of one request say.
type deltaState struct {
	// walk is set while the first request's listing is paged.
	walk bool
	// since and until bound the round; for a walk, since is the watermark
	// taken before it and after the walk's keyset position.
	since, until int64
	after        string
}

func appendPosition(b []byte, since, until int64, after string) []byte {
	b = binary.AppendVarint(b, since)
	b = binary.AppendVarint(b, until)
	return append(b, after...)
}

func readPosition(pos []byte) (since, until int64, after string, ok bool) {
	since, n := binary.Varint(pos)
	if n <= 0 {
		return 0, 0, "", false
	}
	until, m := binary.Varint(pos[n:])
	if m <= 0 {
		return 0, 0, "", false
	}
	return since, until, string(pos[n+m:]), true
}

// deltaTokenPath binds a delta token to the collection and to the $filter
// and $select of the first request.
func deltaTokenPath(collection string, q *odata.Query) string {
	var b strings.Builder
	b.WriteString(collection)
	b.WriteString("/delta")
	for _, o := range q.Options {
		if o.Option == odata.Filter || o.Option == odata.Select {
			b.WriteByte('&')
			b.WriteString(o.Encoded)
		}
	}
	return b.String()
}

// maxPageSize reads Prefer: odata.maxpagesize=N; applied tells whether the
// preference was honoured (and must be announced).
func maxPageSize(r *http.Request) (size int, applied bool) {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "odata.maxpagesize") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(value), `"`))
			if err == nil && n >= 1 && n <= maxDeltaPage {
				return n, true
			}
		}
	}
	return defaultDeltaPage, false
}

// serveDelta serves {collection}/delta.
func serveDelta[T any](s *Server, w http.ResponseWriter, r *http.Request, rt route, c deltaCollection[T]) error {
	q, err := parseQuery(r, &odata.Spec{Allowed: odata.Select | odata.Filter | odata.SkipToken | odata.DeltaToken, Type: c.typ})
	if err != nil {
		return err
	}
	ctx := r.Context()
	path := deltaTokenPath(c.name, q)
	size, applied := maxPageSize(r)
	var st deltaState
	switch {
	case q.SkipToken != "" && q.DeltaToken != "":
		return &portolan.Error{Code: portolan.EINVALID, Target: "$deltatoken", Message: "A delta request takes $skiptoken or $deltatoken, not both."}
	case q.DeltaToken == "latest":
		wm, err := s.changes.ChangeWatermark(ctx)
		if err != nil {
			return err
		}
		return s.writeDelta(w, r, rt, c.name, q, applied, size, 0, nil, "", s.signToken(path, tokenKindDelta, appendPosition(nil, wm.Position, 0, "")))
	case q.DeltaToken != "":
		pos, err := s.openToken(path, tokenKindDelta, q.DeltaToken)
		if err != nil {
			return errBadDeltaToken
		}
		var ok bool
		if st.since, _, _, ok = readPosition(pos); !ok {
			return errBadDeltaToken
		}
		wm, err := s.changes.ChangeWatermark(ctx)
		if err != nil {
			return err
		}
		if st.since < wm.Horizon {
			return tooOld()
		}
		st.until = max(wm.Position, st.since)
	case q.SkipToken != "":
		kind := tokenKindDeltaRound
		pos, err := s.openToken(path, tokenKindDeltaRound, q.SkipToken)
		if err != nil {
			if pos, err = s.openToken(path, tokenKindDeltaWalk, q.SkipToken); err != nil {
				return err
			}
			kind = tokenKindDeltaWalk
		}
		var ok bool
		if st.since, st.until, st.after, ok = readPosition(pos); !ok {
			return errBadToken
		}
		st.walk = kind == tokenKindDeltaWalk
		if !st.walk {
			wm, err := s.changes.ChangeWatermark(ctx)
			if err != nil {
				return err
			}
			if st.since < wm.Horizon {
				return tooOld()
			}
		}
	default:
		// The watermark comes first: whatever commits during the walk is
		// then in the first round.
		wm, err := s.changes.ChangeWatermark(ctx)
		if err != nil {
			return err
		}
		st = deltaState{walk: true, since: wm.Position}
	}

	if st.walk {
		page, err := c.search(s)(ctx, portolan.SearchQuery{Filter: q.Filter, After: st.after, Top: size})
		if err != nil {
			return err
		}
		item, err := c.append(s, ctx, q, page.Items)
		if err != nil {
			return err
		}
		next, delta := "", ""
		if page.Next != "" {
			next = s.signToken(path, tokenKindDeltaWalk, appendPosition(nil, st.since, 0, page.Next))
		} else {
			delta = s.signToken(path, tokenKindDelta, appendPosition(nil, st.since, 0, ""))
		}
		return s.writeDelta(w, r, rt, c.name, q, applied, size, len(page.Items), item, next, delta)
	}

	page, err := c.delta(s)(ctx, portolan.DeltaQuery{Filter: q.Filter, Since: st.since, Until: st.until, After: st.after, Top: size})
	if err != nil {
		return err
	}
	var items []T
	for _, e := range page.Entries {
		if !e.Removed {
			items = append(items, e.Item)
		}
	}
	item, err := c.append(s, ctx, q, items)
	if err != nil {
		return err
	}
	// An entry is its item's members, or its id marked removed: changed
	// when the item no longer matches the filter, deleted when it is gone.
	idx := make([]int, len(page.Entries)) // entry -> item, -1 when removed
	k := 0
	for i, e := range page.Entries {
		idx[i] = -1
		if !e.Removed {
			idx[i], k = k, k+1
		}
	}
	entries := func(b []byte, i int) []byte {
		e := page.Entries[i]
		if idx[i] >= 0 {
			return item(b, idx[i])
		}
		b = append(b, `"id":`...)
		b = appendString(b, e.ID)
		if e.Gone {
			return append(b, `,"@removed":{"reason":"deleted"}`...)
		}
		return append(b, `,"@removed":{"reason":"changed"}`...)
	}
	next, delta := "", ""
	if page.Next != "" {
		next = s.signToken(path, tokenKindDeltaRound, appendPosition(nil, st.since, st.until, page.Next))
	} else {
		delta = s.signToken(path, tokenKindDelta, appendPosition(nil, st.until, 0, ""))
	}
	return s.writeDelta(w, r, rt, c.name, q, applied, size, len(page.Entries), entries, next, delta)
}

func tooOld() error {
	return portolan.Errorf(portolan.EGONE, "The delta token is older than the change history kept (resync required): start again without a token.")
}

// writeDelta writes a delta page: {"@odata.context", "value", then
// "@odata.nextLink" or "@odata.deltaLink"}. Delta pages are not cached: the
// watermark moves without a new generation, and the page size comes from a
// header.
func (s *Server) writeDelta(w http.ResponseWriter, r *http.Request, rt route, collection string, q *odata.Query,
	applied bool, size, n int, item func(b []byte, i int) []byte, next, delta string) error {
	buf := getBuffer()
	defer putBuffer(buf)
	b := append((*buf)[:0], '{')
	b = s.appendContext(b, r, rt, collection, q, "")
	b = append(b, `,"value":[`...)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = item(b, i)
		b = append(b, '}')
	}
	b = append(b, ']')
	if next != "" {
		b = s.appendDeltaLink(b, `,"@odata.nextLink":`, r, q, "$skiptoken=", next)
	} else {
		b = s.appendDeltaLink(b, `,"@odata.deltaLink":`, r, q, "$deltatoken=", delta)
	}
	b = append(b, '}')
	*buf = b
	if applied {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeTagged(w, r, headerJSON, b, etag(b), nil)
	return nil
}

// appendDeltaLink appends a link member: the request's URL with its $filter
// and $select verbatim and the token.
func (s *Server) appendDeltaLink(b []byte, name string, r *http.Request, q *odata.Query, param, token string) []byte {
	b = append(b, name...)
	buf := getBuffer()
	defer putBuffer(buf)
	u := s.appendBaseURL((*buf)[:0], r)
	u = append(u, r.URL.EscapedPath()...)
	u = append(u, '?')
	for _, o := range q.Options {
		if o.Option == odata.Filter || o.Option == odata.Select {
			u = append(u, o.Encoded...)
			u = append(u, '&')
		}
	}
	u = append(u, param...)
	u = append(u, token...)
	*buf = u
	return appendStringBytes(b, u)
}
