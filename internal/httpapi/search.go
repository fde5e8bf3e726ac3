// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"net/http"
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
	searchHostsSpec     = &odata.Spec{Allowed: odata.Paging | odata.Select | odata.Filter | odata.OrderBy, Type: hostType}
	countHostsSpec      = &odata.Spec{Allowed: odata.Filter, Type: hostType}
	countCertsSpec      = &odata.Spec{Allowed: odata.Filter, Type: sslCertificateType}
)

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

// listAllHosts serves hosts: every host hosts/{id} answers, addresses and
// hostnames, with $filter, $orderby, $count and keyset paging.
func (s *Server) listAllHosts(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, searchHostsSpec)
	if err != nil {
		return err
	}
	tokenPath := searchTokenPath("hosts", q)
	sq, err := s.searchQuery(q, tokenPath)
	if err != nil {
		return err
	}
	page, err := s.search.SearchHosts(r.Context(), sq)
	if err != nil {
		return err
	}
	var next string
	if page.Next != "" {
		next = s.signToken(tokenPath, tokenKindSearch, []byte(page.Next))
	}
	mask := q.Mask(hostType)
	s.writeCollection(w, r, rt, "hosts", q, page.Total, next, len(page.Items), func(b []byte, i int) []byte {
		return appendHostMembers(b, true, page.Items[i], mask)
	})
	return nil
}

// countAllHosts serves hosts/$count, with $filter.
func (s *Server) countAllHosts(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, countHostsSpec)
	if err != nil {
		return err
	}
	page, err := s.search.SearchHosts(r.Context(), portolan.SearchQuery{Filter: q.Filter, Count: true, Top: -1})
	if err != nil {
		return err
	}
	s.writeBody(w, r, headerText, strconv.AppendInt(nil, int64(page.Total), 10))
	return nil
}

// filterCertificates serves sslCertificates without $search: every
// certificate, with $filter, $orderby, $count and keyset paging.
func (s *Server) filterCertificates(w http.ResponseWriter, r *http.Request, rt route, q *odata.Query) error {
	if s.search == nil {
		return &portolan.Error{Code: portolan.EINVALID, Target: "$search",
			Message: `Query option '$search' is required to list sslCertificates, for example $search="subject/commonName:contoso.com".`}
	}
	tokenPath := searchTokenPath("sslCertificates", q)
	sq, err := s.searchQuery(q, tokenPath)
	if err != nil {
		return err
	}
	page, err := s.search.FilterSSLCertificates(r.Context(), sq)
	if err != nil {
		return err
	}
	var next string
	if page.Next != "" {
		next = s.signToken(tokenPath, tokenKindSearch, []byte(page.Next))
	}
	mask := q.Mask(sslCertificateType)
	s.writeCollection(w, r, rt, "sslCertificates", q, page.Total, next, len(page.Items), func(b []byte, i int) []byte {
		return appendCertificateMembers(b, true, page.Items[i], mask)
	})
	return nil
}

// countCertificates serves sslCertificates/$count, with $filter.
func (s *Server) countCertificates(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, countCertsSpec)
	if err != nil {
		return err
	}
	page, err := s.search.FilterSSLCertificates(r.Context(), portolan.SearchQuery{Filter: q.Filter, Count: true, Top: -1})
	if err != nil {
		return err
	}
	s.writeBody(w, r, headerText, strconv.AppendInt(nil, int64(page.Total), 10))
	return nil
}
