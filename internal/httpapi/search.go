// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"portolan"
	"portolan/internal/odata"
)

// tokenKindSearch marks a $skiptoken whose position is a store's keyset
// cursor of a search (portolan.Page.Next).
const tokenKindSearch = 3

var (
	searchHostPortsSpec = &odata.Spec{Allowed: odata.Paging | odata.Select | odata.Expand | odata.Filter | odata.OrderBy, Type: hostPortType}
	countHostPortsSpec  = &odata.Spec{Allowed: odata.Filter, Type: hostPortType}
)

// ParseHostPortSearch parses a $filter and an $orderby of hostPorts
// exactly as the API parses a request's (the same entity description,
// checks and errors), for programs that search a store in-process:
// portolan-bench measures the store with the query a request would run. An
// empty filter or orderBy is absent. Errors are EINVALID with the API's
// message.
func ParseHostPortSearch(filter, orderBy string) (portolan.SearchQuery, error) {
	v := url.Values{}
	if filter != "" {
		v.Set("$filter", filter)
	}
	if orderBy != "" {
		v.Set("$orderby", orderBy)
	}
	q, err := odata.Parse(v.Encode(), searchHostPortsSpec)
	if err != nil {
		return portolan.SearchQuery{}, queryError(err)
	}
	return portolan.SearchQuery{Filter: q.Filter, OrderBy: q.OrderBy}, nil
}

// searchTokenPath binds a search's $skiptoken to the collection and to the
// filter and ordering it was made for: a position is meaningless under
// another ordering, and a token must not carry a client past a filter.
func searchTokenPath(collection string, q *odata.Query) string {
	var b strings.Builder
	b.WriteString(collection)
	for _, o := range q.Options {
		if o.Option == odata.Filter || o.Option == odata.OrderBy {
			b.WriteByte('&')
			b.WriteString(o.Encoded)
		}
	}
	return b.String()
}

// searchQuery turns the options of a search into a portolan.SearchQuery.
func (s *Server) searchQuery(q *odata.Query, tokenPath string) (portolan.SearchQuery, error) {
	sq := portolan.SearchQuery{Filter: q.Filter, OrderBy: q.OrderBy, Skip: q.Skip, Top: q.Top, Count: q.Count}
	if q.SkipToken != "" {
		pos, err := s.openToken(tokenPath, tokenKindSearch, q.SkipToken)
		if err != nil {
			return sq, err
		}
		sq.After = string(pos)
	}
	return sq, nil
}

// listAllHostPorts serves hostPorts: every hostPort record of the estate,
// with $filter, $orderby, $count and keyset paging (search-and-changes.md
// §1–3).
func (s *Server) listAllHostPorts(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, searchHostPortsSpec)
	if err != nil {
		return err
	}
	return s.servePortSearch(w, r, rt, q, "hostPorts", q.Filter, q.OrderBy)
}

// servePortSearch runs a hostPort search and writes the page.
func (s *Server) servePortSearch(w http.ResponseWriter, r *http.Request, rt route, q *odata.Query, contextPath string,
	filter portolan.Expr, order []portolan.OrderKey) error {
	tokenPath := searchTokenPath(contextPath, q)
	sq, err := s.searchQuery(q, tokenPath)
	if err != nil {
		return err
	}
	sq.Filter, sq.OrderBy = filter, order
	page, err := s.search.SearchHostPorts(r.Context(), sq)
	if err != nil {
		return err
	}
	v, err := s.newPortView(r.Context(), q, page.Items)
	if err != nil {
		return err
	}
	var next string
	if page.Next != "" {
		next = s.signToken(tokenPath, tokenKindSearch, []byte(page.Next))
	}
	s.writeCollection(w, r, rt, contextPath, q, page.Total, next, len(page.Items), func(b []byte, i int) []byte {
		return appendHostPortMembers(b, true, page.Items[i], v)
	})
	return nil
}

// countAllHostPorts serves hostPorts/$count, with $filter.
func (s *Server) countAllHostPorts(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, countHostPortsSpec)
	if err != nil {
		return err
	}
	page, err := s.search.SearchHostPorts(r.Context(), portolan.SearchQuery{Filter: q.Filter, Count: true, Top: -1})
	if err != nil {
		return err
	}
	s.writeBody(w, r, headerText, strconv.AppendInt(nil, int64(page.Total), 10))
	return nil
}

// hostScope restricts a search to the ports of one host as hosts/{id}/ports
// lists them: for a hostname, those of the addresses it was seen with.
func hostScope(host string, filter portolan.Expr) portolan.Expr {
	scope := &portolan.Compare{Op: portolan.OpEq,
		Path:  portolan.Path{Name: "host/id", Kind: portolan.ValueString, HostID: true},
		Value: portolan.Value{Kind: portolan.ValueString, Str: host}}
	if filter == nil {
		return scope
	}
	return &portolan.Logical{Left: scope, Right: filter}
}

// hostPortListOrder is the order of hosts/{id}/ports: port, then protocol
// (tcp first), then host.
var hostPortListOrder = []portolan.OrderKey{
	{Path: portolan.Path{Name: "port", Kind: portolan.ValueInt}},
	{Path: portolan.Path{Name: "protocol", Kind: portolan.ValueEnum}},
}

// searchable checks that a host's ports can be searched: the store
// searches, and the host exists (hosts/{id}/ports of an unknown host is 404
// whatever the filter).
func (s *Server) searchable(r *http.Request, q *odata.Query, host string) error {
	if s.search == nil {
		option := "$filter"
		if q.Filter == nil {
			option = "$orderby"
		}
		return &portolan.Error{Code: portolan.EINVALID, Target: option, Message: "Query option '" + option + "' is not supported by this request."}
	}
	_, err := s.hosts.FindHostByID(r.Context(), host)
	return err
}

// searchHostPortsOf serves hosts/{id}/ports with $filter or $orderby: the
// host's ports as a search, ordered as the list is unless $orderby says
// otherwise.
func (s *Server) searchHostPortsOf(w http.ResponseWriter, r *http.Request, rt route, q *odata.Query, host string) error {
	if err := s.searchable(r, q, host); err != nil {
		return err
	}
	order := q.OrderBy
	if order == nil {
		order = hostPortListOrder
	}
	return s.servePortSearch(w, r, rt, q, "hosts"+keyLiteral(host)+"/ports", hostScope(host, q.Filter), order)
}

// searchCollection is an estate-wide collection other than hostPorts:
// how to search it and how to write an item.
type searchCollection[T any] struct {
	name       string // the collection's path under threatIntelligence
	typ        *odata.EntityType
	search     func(*Server) func(context.Context, portolan.SearchQuery) (portolan.Page[T], error)
	appendItem func(b []byte, item T, mask uint64) []byte
}

var (
	hostsCollection = searchCollection[*portolan.Host]{name: "hosts", typ: hostType,
		search: func(s *Server) func(context.Context, portolan.SearchQuery) (portolan.Page[*portolan.Host], error) {
			return s.search.SearchHosts
		},
		appendItem: func(b []byte, h *portolan.Host, mask uint64) []byte { return appendHostMembers(b, true, h, mask) }}
	certificatesCollection = searchCollection[*portolan.SSLCertificate]{name: "sslCertificates", typ: sslCertificateType,
		search: func(s *Server) func(context.Context, portolan.SearchQuery) (portolan.Page[*portolan.SSLCertificate], error) {
			return s.search.FilterSSLCertificates
		},
		appendItem: func(b []byte, c *portolan.SSLCertificate, mask uint64) []byte {
			return appendCertificateMembers(b, true, c, mask)
		}}
	componentsCollection = searchCollection[*portolan.HostComponent]{name: "hostComponents", typ: hostComponentType,
		search: func(s *Server) func(context.Context, portolan.SearchQuery) (portolan.Page[*portolan.HostComponent], error) {
			return s.search.SearchHostComponents
		},
		appendItem: func(b []byte, c *portolan.HostComponent, mask uint64) []byte {
			return appendHostComponentMembers(b, true, c, mask)
		}}
	hostCertificatesCollection = searchCollection[*portolan.HostSSLCertificate]{name: "hostSslCertificates", typ: hostSSLCertificateType,
		search: func(s *Server) func(context.Context, portolan.SearchQuery) (portolan.Page[*portolan.HostSSLCertificate], error) {
			return s.search.SearchHostSSLCertificates
		},
		appendItem: func(b []byte, c *portolan.HostSSLCertificate, mask uint64) []byte {
			return appendHostSSLCertificateMembers(b, true, c, mask)
		}}
)

// spec is what a listing of the collection accepts.
func (c searchCollection[T]) spec() *odata.Spec {
	return &odata.Spec{Allowed: odata.Paging | odata.Select | odata.Filter | odata.OrderBy, Type: c.typ}
}

// listCollection serves an estate-wide collection: every item, with
// $filter, $orderby, $count and keyset paging.
func listCollection[T any](s *Server, w http.ResponseWriter, r *http.Request, rt route, c searchCollection[T]) error {
	q, err := parseQuery(r, c.spec())
	if err != nil {
		return err
	}
	return serveSearch(s, w, r, rt, q, c, c.name, q.Filter, q.OrderBy)
}

// serveSearch runs a search of c and writes the page under contextPath.
func serveSearch[T any](s *Server, w http.ResponseWriter, r *http.Request, rt route, q *odata.Query, c searchCollection[T],
	contextPath string, filter portolan.Expr, order []portolan.OrderKey) error {
	tokenPath := searchTokenPath(contextPath, q)
	sq, err := s.searchQuery(q, tokenPath)
	if err != nil {
		return err
	}
	sq.Filter, sq.OrderBy = filter, order
	page, err := c.search(s)(r.Context(), sq)
	if err != nil {
		return err
	}
	var next string
	if page.Next != "" {
		next = s.signToken(tokenPath, tokenKindSearch, []byte(page.Next))
	}
	mask := q.Mask(c.typ)
	s.writeCollection(w, r, rt, contextPath, q, page.Total, next, len(page.Items), func(b []byte, i int) []byte {
		return c.appendItem(b, page.Items[i], mask)
	})
	return nil
}

// countCollection serves {collection}/$count, with $filter.
func countCollection[T any](s *Server, w http.ResponseWriter, r *http.Request, c searchCollection[T]) error {
	q, err := parseQuery(r, &odata.Spec{Allowed: odata.Filter, Type: c.typ})
	if err != nil {
		return err
	}
	page, err := c.search(s)(r.Context(), portolan.SearchQuery{Filter: q.Filter, Count: true, Top: -1})
	if err != nil {
		return err
	}
	s.writeBody(w, r, headerText, strconv.AppendInt(nil, int64(page.Total), 10))
	return nil
}

// hostScoped serves a host's components or certificates with $filter or
// $orderby: a search of the estate-wide collection restricted to the host
// (a hostname covering its addresses), ordered by id unless $orderby says
// otherwise.
func hostScoped[T any](s *Server, w http.ResponseWriter, r *http.Request, rt route, q *odata.Query, c searchCollection[T], host, segment string) error {
	if err := s.searchable(r, q, host); err != nil {
		return err
	}
	return serveSearch(s, w, r, rt, q, c, "hosts"+keyLiteral(host)+"/"+segment, hostScope(host, q.Filter), q.OrderBy)
}
