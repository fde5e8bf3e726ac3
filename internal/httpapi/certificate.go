// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"net/http"

	"portolan"
	"portolan/internal/odata"
)

// Bits of sslCertificateType.Properties: the index of each property in the
// description, a constant so that the encoder tests an immediate;
// entity_test.go checks each against its property's name.
const (
	cID = iota
	cFirstSeen
	cLastSeen
	cFingerprint
	cExpiration
	cIssue
	cSHA1
	cSerialNumber
	cSubject
	cIssuer
)

var (
	certificateSpec  = &odata.Spec{Allowed: odata.Select, Type: sslCertificateType}
	certificatesSpec = &odata.Spec{
		Allowed:      odata.Paging | odata.Select | odata.Search | odata.Filter | odata.OrderBy,
		Type:         sslCertificateType,
		SearchFields: portolan.SearchableCertificateFields,
	}
)

// appendCertificateMembers writes an sslCertificate.
func appendCertificateMembers(b []byte, first bool, c *portolan.SSLCertificate, mask uint64) []byte {
	if mask&(1<<cID) != 0 {
		b = member(b, &first, `"id":`)
		b = appendString(b, c.ID)
	}
	if mask&(1<<cFirstSeen) != 0 {
		b = member(b, &first, `"firstSeenDateTime":`)
		b = appendTime(b, c.FirstSeenDateTime)
	}
	if mask&(1<<cLastSeen) != 0 {
		b = member(b, &first, `"lastSeenDateTime":`)
		b = appendTime(b, c.LastSeenDateTime)
	}
	if mask&(1<<cFingerprint) != 0 {
		b = member(b, &first, `"fingerprint":`)
		b = appendNullableString(b, c.Fingerprint)
	}
	if mask&(1<<cExpiration) != 0 {
		b = member(b, &first, `"expirationDateTime":`)
		b = appendTime(b, c.ExpirationDateTime)
	}
	if mask&(1<<cIssue) != 0 {
		b = member(b, &first, `"issueDateTime":`)
		b = appendTime(b, c.IssueDateTime)
	}
	if mask&(1<<cSHA1) != 0 {
		b = member(b, &first, `"sha1":`)
		b = appendNullableString(b, c.SHA1)
	}
	if mask&(1<<cSerialNumber) != 0 {
		b = member(b, &first, `"serialNumber":`)
		b = appendNullableString(b, c.SerialNumber)
	}
	if mask&(1<<cSubject) != 0 {
		b = member(b, &first, `"subject":`)
		b = appendCertificateEntity(b, &c.Subject)
	}
	if mask&(1<<cIssuer) != 0 {
		b = member(b, &first, `"issuer":`)
		b = appendCertificateEntity(b, &c.Issuer)
	}
	return b
}

// appendCertificateEntity writes an sslCertificateEntity with its
// physicalAddress: the seven beta members, postOfficeBox null and type
// "unknown" as in the documented examples (graph-api.md 2.7, 2.8).
func appendCertificateEntity(b []byte, e *portolan.SSLCertificateEntity) []byte {
	b = append(b, `{"commonName":`...)
	b = appendNullableString(b, e.CommonName)
	b = append(b, `,"address":{"city":`...)
	b = appendNullableString(b, e.Address.City)
	b = append(b, `,"countryOrRegion":`...)
	b = appendNullableString(b, e.Address.CountryOrRegion)
	b = append(b, `,"postalCode":`...)
	b = appendNullableString(b, e.Address.PostalCode)
	b = append(b, `,"postOfficeBox":null,"state":`...)
	b = appendNullableString(b, e.Address.State)
	b = append(b, `,"street":`...)
	b = appendNullableString(b, e.Address.Street)
	b = append(b, `,"type":"unknown"},"email":`...)
	b = appendNullableString(b, e.Email)
	b = append(b, `,"givenName":`...)
	b = appendNullableString(b, e.GivenName)
	b = append(b, `,"organizationName":`...)
	b = appendNullableString(b, e.OrganizationName)
	b = append(b, `,"organizationUnitName":`...)
	b = appendNullableString(b, e.OrganizationUnitName)
	b = append(b, `,"serialNumber":`...)
	b = appendNullableString(b, e.SerialNumber)
	b = append(b, `,"surname":`...)
	b = appendNullableString(b, e.Surname)
	b = append(b, `,"alternateNames":[`...)
	for i, n := range e.AlternateNames {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, n)
	}
	return append(b, "]}"...)
}

func (s *Server) writeCertificate(w http.ResponseWriter, r *http.Request, rt route, q *odata.Query, c *portolan.SSLCertificate) error {
	mask := q.Mask(sslCertificateType)
	s.writeEntity(w, r, rt, "sslCertificates", q, func(b []byte) []byte {
		return appendCertificateMembers(b, false, c, mask)
	})
	return nil
}

// getCertificate serves sslCertificates/{id}.
func (s *Server) getCertificate(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, certificateSpec)
	if err != nil {
		return err
	}
	c, err := s.certificates.FindSSLCertificateByID(r.Context(), rt.key)
	if err != nil {
		return err
	}
	return s.writeCertificate(w, r, rt, q, c)
}

// searchCertificates serves sslCertificates?$search="field:value"
// (graph-api.md E8). Listing without $search is not offered: Graph documents
// the list only with a search.
func (s *Server) searchCertificates(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, certificatesSpec)
	if err != nil {
		return err
	}
	if q.Search == nil {
		if s.search == nil {
			return &portolan.Error{Code: portolan.EINVALID, Target: "$search",
				Message: `Query option '$search' is required to list sslCertificates, for example $search="subject/commonName:contoso.com".`}
		}
		return serveSearch(s, w, r, rt, q, certificatesCollection, "sslCertificates", q.Filter, q.OrderBy)
	}
	if q.Filter != nil || q.OrderBy != nil {
		return &portolan.Error{Code: portolan.EINVALID, Target: "$search",
			Message: "Query option '$search' cannot be combined with '$filter' or '$orderby' on sslCertificates; express the search as a $filter, for example $filter=subject/commonName eq 'contoso.com'."}
	}
	search := portolan.CertificateSearch{Field: q.Search.Field, Value: q.Search.Value}
	return serveIDPage(s, w, r, rt, q, idPage[*portolan.SSLCertificate]{
		// The token is bound to the search too, so it cannot page another one.
		tokenPath:   "sslCertificates?$search=" + q.Search.Field + ":" + q.Search.Value,
		contextPath: "sslCertificates",
		typ:         sslCertificateType,
		find: func(f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
			return s.certificates.SearchSSLCertificates(r.Context(), search, f)
		},
		id: func(c *portolan.SSLCertificate) string { return c.ID },
		appendItem: func(b []byte, c *portolan.SSLCertificate, mask uint64) []byte {
			return appendCertificateMembers(b, true, c, mask)
		},
	})
}

// listRelatedHosts serves sslCertificates/{id}/relatedHosts.
func (s *Server) listRelatedHosts(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, relatedHostsSpec)
	if err != nil {
		return err
	}
	return serveIDPage(s, w, r, rt, q, idPage[*portolan.Host]{
		tokenPath:   "sslCertificates/" + rt.key + "/relatedHosts",
		contextPath: "sslCertificates" + keyLiteral(rt.key) + "/relatedHosts",
		typ:         hostType,
		find: func(f portolan.ListFilter) ([]*portolan.Host, int, error) {
			return s.certificates.FindRelatedHosts(r.Context(), rt.key, f)
		},
		id: func(h *portolan.Host) string { return h.ID },
		appendItem: func(b []byte, h *portolan.Host, mask uint64) []byte {
			return appendHostMembers(b, true, h, mask)
		},
	})
}

// Bits of hostSSLCertificateType.Properties: the index of each property in the
// description, a constant so that the encoder tests an immediate;
// entity_test.go checks each against its property's name.
const (
	hscID = iota
	hscFirstSeen
	hscLastSeen
	hscPorts
	hscHost
	hscCertificate
)

var (
	hostSSLCertificatesSpec = &odata.Spec{Allowed: odata.Paging | odata.Select | odata.Filter | odata.OrderBy, Type: hostSSLCertificateType}
	hostSSLCertificateSpec  = &odata.Spec{Allowed: odata.Select, Type: hostSSLCertificateType}
)

// appendHostSSLCertificateMembers writes a hostSslCertificate as the
// documented examples do: the host stub with its @odata.type (correctly
// cased, unlike the example's hostName) and the certificate inline.
func appendHostSSLCertificateMembers(b []byte, first bool, hc *portolan.HostSSLCertificate, mask uint64) []byte {
	if mask&(1<<hscID) != 0 {
		b = member(b, &first, `"id":`)
		b = appendString(b, hc.ID)
	}
	if mask&(1<<hscFirstSeen) != 0 {
		b = member(b, &first, `"firstSeenDateTime":`)
		b = appendTime(b, hc.FirstSeenDateTime)
	}
	if mask&(1<<hscLastSeen) != 0 {
		b = member(b, &first, `"lastSeenDateTime":`)
		b = appendTime(b, hc.LastSeenDateTime)
	}
	if mask&(1<<hscPorts) != 0 {
		b = member(b, &first, `"ports":[`)
		for i, p := range hc.Ports {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"port":`...)
			b = appendInt(b, p.Port)
			b = append(b, `,"firstSeenDateTime":`...)
			b = appendTime(b, p.FirstSeenDateTime)
			b = append(b, `,"lastSeenDateTime":`...)
			b = appendTime(b, p.LastSeenDateTime)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if mask&(1<<hscHost) != 0 {
		b = member(b, &first, `"host":{"@odata.type":`)
		if portolan.HostKindOf(hc.Host) == portolan.KindIPAddress {
			b = append(b, `"#microsoft.graph.security.ipAddress"`...)
		} else {
			b = append(b, `"#microsoft.graph.security.hostname"`...)
		}
		b = append(b, `,"id":`...)
		b = appendString(b, hc.Host)
		b = append(b, '}')
	}
	if mask&(1<<hscCertificate) != 0 {
		b = member(b, &first, `"sslCertificate":`)
		if hc.SSLCertificate == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '{')
			b = appendCertificateMembers(b, true, hc.SSLCertificate, sslCertificateType.All())
			b = append(b, '}')
		}
	}
	return b
}

// listHostSSLCertificates serves hosts/{id}/sslCertificates.
func (s *Server) listHostSSLCertificates(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostSSLCertificatesSpec)
	if err != nil {
		return err
	}
	host, err := hostKey(rt.key)
	if err != nil {
		return err
	}
	if q.Filter != nil || q.OrderBy != nil {
		return hostScoped(s, w, r, rt, q, hostCertificatesCollection, host, "sslCertificates")
	}
	return serveIDPage(s, w, r, rt, q, idPage[*portolan.HostSSLCertificate]{
		tokenPath:   "hosts/" + host + "/sslCertificates",
		contextPath: "hosts" + keyLiteral(host) + "/sslCertificates",
		typ:         hostSSLCertificateType,
		find: func(f portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error) {
			return s.certificates.FindHostSSLCertificates(r.Context(), host, f)
		},
		id: func(hc *portolan.HostSSLCertificate) string { return hc.ID },
		appendItem: func(b []byte, hc *portolan.HostSSLCertificate, mask uint64) []byte {
			return appendHostSSLCertificateMembers(b, true, hc, mask)
		},
	})
}

// getHostSSLCertificate serves hostSslCertificates/{id}.
func (s *Server) getHostSSLCertificate(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostSSLCertificateSpec)
	if err != nil {
		return err
	}
	hc, err := s.certificates.FindHostSSLCertificateByID(r.Context(), rt.key)
	if err != nil {
		return err
	}
	mask := q.Mask(hostSSLCertificateType)
	s.writeEntity(w, r, rt, "hostSslCertificates", q, func(b []byte) []byte {
		return appendHostSSLCertificateMembers(b, false, hc, mask)
	})
	return nil
}
