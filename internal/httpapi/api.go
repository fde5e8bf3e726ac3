// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"net/http"

	"portolan"
	"portolan/internal/odata"
)

// serveAPI is the catch-all under each service root: it routes the path and
// calls the endpoint's handler.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) error {
	rt, err := parseRoute(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	if rt.kind == routeSubscriptions || rt.kind == routeSubscription {
		if s.subscriptions == nil || s.endpoints == nil {
			return notFound(r.URL.EscapedPath())
		}
		return s.serveSubscriptions(w, r, rt)
	}
	if err := checkMethod(r); err != nil {
		return err
	}
	if expensive(rt.kind, r.URL.RawQuery) {
		release, err := s.limits.acquireExpensive(r.Context(), w)
		if err != nil {
			return err
		}
		defer release()
	}
	switch rt.kind {
	case routeMetadata:
		return s.serveMetadata(w, r)
	case routeHost:
		return s.getHost(w, r, rt)
	case routeHostPorts:
		return s.listHostPorts(w, r, rt)
	case routeHostPortsCount:
		return s.countHostPorts(w, r, rt)
	case routeHostHostPort:
		return s.getHostHostPort(w, r, rt)
	case routeHostComponents:
		return s.listHostComponents(w, r, rt)
	case routeHostSSLCerts:
		return s.listHostSSLCertificates(w, r, rt)
	case routeHostPort:
		return s.getHostPort(w, r, rt)
	case routeHostPortHost:
		return s.getHostPortHost(w, r, rt)
	case routeHostPortCert:
		return s.getHostPortCertificate(w, r, rt)
	case routeHostComponent:
		return s.getHostComponent(w, r, rt)
	case routeHostSSLCert:
		return s.getHostSSLCertificate(w, r, rt)
	case routeSSLCerts:
		return s.searchCertificates(w, r, rt)
	case routeSSLCert:
		return s.getCertificate(w, r, rt)
	case routeRelatedHosts:
		return s.listRelatedHosts(w, r, rt)
	case routeHostPortsAll:
		if s.search != nil {
			return s.listAllHostPorts(w, r, rt)
		}
	case routeHostPortsAllCount:
		if s.search != nil {
			return s.countAllHostPorts(w, r, rt)
		}
	case routeHostsAll:
		if s.search != nil {
			return listCollection(s, w, r, rt, hostsCollection)
		}
	case routeHostsAllCount:
		if s.search != nil {
			return countCollection(s, w, r, hostsCollection)
		}
	case routeSSLCertsCount:
		if s.search != nil {
			return countCollection(s, w, r, certificatesCollection)
		}
	case routeComponentsAll:
		if s.search != nil {
			return listCollection(s, w, r, rt, componentsCollection)
		}
	case routeComponentsAllCount:
		if s.search != nil {
			return countCollection(s, w, r, componentsCollection)
		}
	case routeHostCertsAll:
		if s.search != nil {
			return listCollection(s, w, r, rt, hostCertificatesCollection)
		}
	case routeHostCertsAllCount:
		if s.search != nil {
			return countCollection(s, w, r, hostCertificatesCollection)
		}
	case routeHostPortsDelta:
		if s.search != nil && s.changes != nil {
			return serveDelta(s, w, r, rt, hostPortsDelta)
		}
	case routeHostsDelta:
		if s.search != nil && s.changes != nil {
			return serveDelta(s, w, r, rt, hostsDelta)
		}
	case routeSSLCertsDelta:
		if s.search != nil && s.changes != nil {
			return serveDelta(s, w, r, rt, certificatesDelta)
		}
	}
	return notFound(r.URL.EscapedPath())
}

// parseQuery parses the request's query options for spec.
func parseQuery(r *http.Request, spec *odata.Spec) (*odata.Query, error) {
	q, err := odata.Parse(r.URL.RawQuery, spec)
	if err != nil {
		return nil, queryError(err)
	}
	return q, nil
}

// listFilter turns the paging options of a list ordered by id into a
// ListFilter. It asks for one entity more than the page holds, which tells
// whether a next page exists without a second query.
func (s *Server) listFilter(q *odata.Query, tokenPath string) (portolan.ListFilter, error) {
	f := portolan.ListFilter{Offset: q.Skip, Limit: q.Top + 1, Count: q.Count}
	if q.SkipToken != "" {
		id, err := s.openIDToken(tokenPath, q.SkipToken)
		if err != nil {
			return f, err
		}
		f.AfterID = id
	}
	return f, nil
}

// idPage is one page of a collection ordered by entity id: what the list
// handlers of components, certificates and hosts share.
type idPage[T any] struct {
	// tokenPath binds the $skiptoken to this collection (and search).
	tokenPath string
	// contextPath is the collection's path in @odata.context.
	contextPath string
	typ         *odata.EntityType
	find        func(portolan.ListFilter) ([]T, int, error)
	id          func(T) string
	appendItem  func(b []byte, item T, mask uint64) []byte
}

// serveIDPage fetches one page (one entity more than $top, to know whether
// a next page exists) and writes it with its next link.
func serveIDPage[T any](s *Server, w http.ResponseWriter, r *http.Request, rt route, q *odata.Query, p idPage[T]) error {
	filter, err := s.listFilter(q, p.tokenPath)
	if err != nil {
		return err
	}
	items, total, err := p.find(filter)
	if err != nil {
		return err
	}
	var next string
	if len(items) > q.Top {
		items = items[:q.Top]
		next = s.idToken(p.tokenPath, p.id(items[len(items)-1]))
	}
	mask := q.Mask(p.typ)
	s.writeCollection(w, r, rt, p.contextPath, q, total, next, len(items), func(b []byte, i int) []byte {
		return p.appendItem(b, items[i], mask)
	})
	return nil
}

// writeCollection writes {"@odata.context", ["@odata.count"], "value",
// ["@odata.nextLink"]} in Graph's member order; value is always present.
// item appends the members of the i-th entity.
func (s *Server) writeCollection(w http.ResponseWriter, r *http.Request, rt route, contextPath string, q *odata.Query,
	total int, next string, n int, item func(b []byte, i int) []byte) {
	buf := getBuffer()
	defer putBuffer(buf)
	b := append((*buf)[:0], '{')
	b = s.appendContext(b, r, rt, contextPath, q, "")
	if q.Count {
		b = append(b, `,"@odata.count":`...)
		b = appendInt(b, max(total, 0))
	}
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
		b = s.appendNextLink(b, r, q, next)
	}
	b = append(b, '}')
	*buf = b
	s.writeBody(w, r, headerJSON, b)
}

// writeEntity writes a single entity: a top-level object whose context ends
// in /$entity (graph-api.md Part A; not wrapped in "value"). members appends
// the entity's members after the context.
func (s *Server) writeEntity(w http.ResponseWriter, r *http.Request, rt route, contextPath string, q *odata.Query,
	members func(b []byte) []byte) {
	buf := getBuffer()
	defer putBuffer(buf)
	b := append((*buf)[:0], '{')
	b = s.appendContext(b, r, rt, contextPath, q, "/$entity")
	b = members(b)
	b = append(b, '}')
	*buf = b
	s.writeBody(w, r, headerJSON, b)
}
