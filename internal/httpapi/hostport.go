// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/odata"
)

// Bits of hostPortType.Properties: the index of each property in the
// description, a constant so that the encoder tests an immediate;
// entity_test.go checks each against its property's name.
const (
	hpID = iota
	hpPort
	hpFirstSeen
	hpLastSeen
	hpLastScan
	hpTimesObserved
	hpStatus
	hpProtocol
	hpBanners
	hpServices
	hpCertificate
	hpHost
)

var (
	hostPortsSpec = &odata.Spec{Allowed: odata.Paging | odata.Select | odata.Expand | odata.Filter | odata.OrderBy, Type: hostPortType}
	hostPortSpec  = &odata.Spec{Allowed: odata.Select | odata.Expand, Type: hostPortType}
	noOptions     = &odata.Spec{}
)

// portView is what shapes the hostPorts of one response.
type portView struct {
	mask uint64
	// cert is the $expand of mostRecentSslCertificate, nil for the id stub.
	cert *odata.ExpandItem
	// certs are the expanded certificates by id.
	certs map[string]*portolan.SSLCertificate
}

// newPortView reads $select and $expand and loads the expanded
// certificates of ports (one lookup per distinct certificate).
func (s *Server) newPortView(ctx context.Context, q *odata.Query, ports []*portolan.HostPort) (*portView, error) {
	v := &portView{mask: q.Mask(hostPortType), cert: q.Expanded("mostRecentSslCertificate")}
	if v.cert == nil {
		return v, nil
	}
	v.certs = make(map[string]*portolan.SSLCertificate)
	for _, hp := range ports {
		id := hp.MostRecentSSLCertificateID
		if _, done := v.certs[id]; done || id == "" {
			continue
		}
		c, err := s.certificates.FindSSLCertificateByID(ctx, id)
		if portolan.ErrorCode(err) == portolan.ENOTFOUND {
			// Emitted as null: the record names a certificate the store
			// no longer has, which is no reason to fail the page.
			v.certs[id] = nil
			continue
		} else if err != nil {
			return nil, err
		}
		v.certs[id] = c
	}
	return v, nil
}

// appendHostPortMembers writes the members of a hostPort in the documented
// order. Without $select the navigation properties are the id-only stubs
// of the documented example; an expanded certificate is written in full.
func appendHostPortMembers(b []byte, first bool, hp *portolan.HostPort, v *portView) []byte {
	m := v.mask
	if m&(1<<hpID) != 0 {
		b = member(b, &first, `"id":`)
		b = appendString(b, hp.ID)
	}
	if m&(1<<hpPort) != 0 {
		b = member(b, &first, `"port":`)
		b = appendInt(b, hp.Port)
	}
	if m&(1<<hpFirstSeen) != 0 {
		b = member(b, &first, `"firstSeenDateTime":`)
		b = appendTime(b, hp.FirstSeenDateTime)
	}
	if m&(1<<hpLastSeen) != 0 {
		b = member(b, &first, `"lastSeenDateTime":`)
		b = appendTime(b, hp.LastSeenDateTime)
	}
	if m&(1<<hpLastScan) != 0 {
		b = member(b, &first, `"lastScanDateTime":`)
		b = appendTime(b, hp.LastScanDateTime)
	}
	if m&(1<<hpTimesObserved) != 0 {
		b = member(b, &first, `"timesObserved":`)
		b = appendInt(b, hp.TimesObserved)
	}
	if m&(1<<hpStatus) != 0 {
		b = member(b, &first, `"status":`)
		b = appendNullableString(b, string(hp.Status))
	}
	if m&(1<<hpProtocol) != 0 {
		b = member(b, &first, `"protocol":`)
		b = appendNullableString(b, string(hp.Protocol))
	}
	if m&(1<<hpBanners) != 0 {
		b = member(b, &first, `"banners":[`)
		for i := range hp.Banners {
			bn := &hp.Banners[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"banner":`...)
			b = appendString(b, bn.Banner)
			b = append(b, `,"firstSeenDateTime":`...)
			b = appendTime(b, bn.FirstSeenDateTime)
			b = append(b, `,"lastSeenDateTime":`...)
			b = appendTime(b, bn.LastSeenDateTime)
			b = append(b, `,"scanProtocol":`...)
			b = appendNullableString(b, bn.ScanProtocol)
			b = append(b, `,"timesObserved":`...)
			b = appendInt(b, bn.TimesObserved)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if m&(1<<hpServices) != 0 {
		b = member(b, &first, `"services":[`)
		for i := range hp.Services {
			sv := &hp.Services[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"firstSeenDateTime":`...)
			b = appendTime(b, sv.FirstSeenDateTime)
			b = append(b, `,"lastSeenDateTime":`...)
			b = appendTime(b, sv.LastSeenDateTime)
			b = append(b, `,"isRecent":`...)
			b = appendBool(b, sv.IsRecent)
			b = append(b, `,"component":{"id":`...)
			id := sv.ComponentID
			if id == "" {
				id = portolan.HostComponentID(hp.Host, sv.Component)
			}
			b = appendString(b, id)
			b = append(b, `,"name":`...)
			b = appendString(b, sv.Component.Name)
			// An unknown version is "" in Defender TI's examples, not null.
			b = append(b, `,"version":`...)
			b = appendString(b, sv.Component.Version)
			b = append(b, `,"category":`...)
			b = appendNullableString(b, sv.Component.Category)
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	if m&(1<<hpCertificate) != 0 || v.cert != nil {
		b = member(b, &first, `"mostRecentSslCertificate":`)
		id := hp.MostRecentSSLCertificateID
		switch {
		case id == "":
			b = append(b, "null"...)
		case v.cert != nil:
			if c := v.certs[id]; c != nil {
				b = append(b, '{')
				b = appendCertificateMembers(b, true, c, selectionMask(v.cert.Select, sslCertificateType))
				b = append(b, '}')
			} else {
				b = append(b, "null"...)
			}
		default:
			b = append(b, `{"id":`...)
			b = appendString(b, id)
			b = append(b, '}')
		}
	}
	if m&(1<<hpHost) != 0 {
		b = member(b, &first, `"host":{"id":`)
		b = appendString(b, hp.Host)
		b = append(b, '}')
	}
	return b
}

// selectionMask is the mask of a nested $select, every property without one.
func selectionMask(sel *odata.Selection, t *odata.EntityType) uint64 {
	if sel == nil {
		return t.All()
	}
	return sel.Mask
}

// listHostPorts serves hosts/{id}/ports, the seed's endpoint.
func (s *Server) listHostPorts(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostPortsSpec)
	if err != nil {
		return err
	}
	host, err := hostKey(rt.key)
	if err != nil {
		return err
	}
	if q.Filter != nil || q.OrderBy != nil {
		return s.searchHostPortsOf(w, r, rt, q, host)
	}
	tokenPath := "hosts/" + host + "/ports"
	filter := portolan.HostPortFilter{Host: host, Offset: q.Skip, Limit: q.Top + 1, Count: q.Count}
	if q.SkipToken != "" {
		if filter.After, err = s.openKeyToken(tokenPath, q.SkipToken); err != nil {
			return err
		}
	}
	ports, total, err := s.hostPorts.FindHostPorts(r.Context(), filter)
	if err != nil {
		return err
	}
	more := len(ports) > q.Top
	if more {
		ports = ports[:q.Top]
	}
	v, err := s.newPortView(r.Context(), q, ports)
	if err != nil {
		return err
	}
	var next string
	if more {
		next = s.keyToken(tokenPath, ports[len(ports)-1].Key())
	}
	s.writeCollection(w, r, rt, "hosts"+keyLiteral(host)+"/ports", q, total, next, len(ports), func(b []byte, i int) []byte {
		return appendHostPortMembers(b, true, ports[i], v)
	})
	return nil
}

// countHostPorts serves hosts/{id}/ports/$count as a bare number.
func (s *Server) countHostPorts(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, countHostPortsSpec)
	if err != nil {
		return err
	}
	host, err := hostKey(rt.key)
	if err != nil {
		return err
	}
	if q.Filter != nil {
		if err := s.searchable(r, q, host); err != nil {
			return err
		}
		page, err := s.search.SearchHostPorts(r.Context(), portolan.SearchQuery{Filter: hostScope(host, q.Filter), Count: true, Top: -1})
		if err != nil {
			return err
		}
		s.writeBody(w, r, headerText, strconv.AppendInt(nil, int64(page.Total), 10))
		return nil
	}
	_, total, err := s.hostPorts.FindHostPorts(r.Context(), portolan.HostPortFilter{Host: host, Limit: 1, Count: true})
	if err != nil {
		return err
	}
	s.writeBody(w, r, headerText, strconv.AppendInt(nil, int64(total), 10))
	return nil
}

// getHostPort serves hostPorts/{id}.
func (s *Server) getHostPort(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostPortSpec)
	if err != nil {
		return err
	}
	hp, err := s.hostPorts.FindHostPortByID(r.Context(), rt.key)
	if err != nil {
		return err
	}
	return s.writeHostPort(w, r, rt, "hostPorts", q, hp)
}

// getHostHostPort serves hosts/{id}/ports/{hostPortId}: the record must be
// one of the host's ports, which for a hostname includes the ports of the
// addresses it aliases (intelligence.md §7).
func (s *Server) getHostHostPort(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostPortSpec)
	if err != nil {
		return err
	}
	host, err := hostKey(rt.key)
	if err != nil {
		return err
	}
	if _, err := s.hosts.FindHostByID(r.Context(), host); err != nil {
		return err
	}
	hp, err := s.hostPorts.FindHostPortByID(r.Context(), rt.key2)
	if err != nil {
		return err
	}
	if ok, err := merge.PortOfHost(r.Context(), s.hostPorts, host, hp); err != nil {
		return err
	} else if !ok {
		return merge.PortOfHostNotFound(host, clipText(rt.key2))
	}
	return s.writeHostPort(w, r, rt, "hosts"+keyLiteral(host)+"/ports", q, hp)
}

func (s *Server) writeHostPort(w http.ResponseWriter, r *http.Request, rt route, contextPath string, q *odata.Query, hp *portolan.HostPort) error {
	v, err := s.newPortView(r.Context(), q, []*portolan.HostPort{hp})
	if err != nil {
		return err
	}
	s.writeEntity(w, r, rt, contextPath, q, func(b []byte) []byte {
		return appendHostPortMembers(b, false, hp, v)
	})
	return nil
}

// getHostPortHost serves hostPorts/{id}/host.
func (s *Server) getHostPortHost(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostSpec)
	if err != nil {
		return err
	}
	hp, err := s.hostPorts.FindHostPortByID(r.Context(), rt.key)
	if err != nil {
		return err
	}
	h, err := s.hosts.FindHostByID(r.Context(), hp.Host)
	if err != nil {
		return err
	}
	kind := h.Kind
	if kind == "" {
		kind = portolan.HostKindOf(h.ID)
	}
	if err := checkHostSelect(q, kind); err != nil {
		return err
	}
	mask := q.Mask(hostType)
	s.writeEntity(w, r, rt, "hosts", q, func(b []byte) []byte {
		return appendHostMembers(b, false, h, mask)
	})
	return nil
}

// getHostPortCertificate serves hostPorts/{id}/mostRecentSslCertificate. A
// port that never presented a certificate answers 204, as OData does for a
// single-valued navigation property that is null.
func (s *Server) getHostPortCertificate(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, certificateSpec)
	if err != nil {
		return err
	}
	hp, err := s.hostPorts.FindHostPortByID(r.Context(), rt.key)
	if err != nil {
		return err
	}
	if hp.MostRecentSSLCertificateID == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	c, err := s.certificates.FindSSLCertificateByID(r.Context(), hp.MostRecentSSLCertificateID)
	if err != nil {
		return err
	}
	return s.writeCertificate(w, r, rt, q, c)
}
