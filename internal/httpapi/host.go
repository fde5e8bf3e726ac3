// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"net/http"
	"strconv"

	"portolan"
	"portolan/internal/odata"
)

// Bits of hostType.Properties: the index of each property in the
// description, a constant so that the encoder tests an immediate;
// entity_test.go checks each against its property's name.
const (
	hID = iota
	hFirstSeen
	hLastSeen
	hCountryOrRegion
	hNetblock
	hAutonomousSystem
	hHostingProvider
	hRegistrar
	hRegistrant
)

var (
	hostSpec         = &odata.Spec{Allowed: odata.Select, Type: hostType}
	relatedHostsSpec = &odata.Spec{Allowed: odata.Paging | odata.Select, Type: hostType}
)

// appendHostMembers writes a host with its concrete @odata.type, which the
// SDKs need to build an ipAddress or a hostname (graph-api.md 4.2).
func appendHostMembers(b []byte, first bool, h *portolan.Host, mask uint64) []byte {
	kind := h.Kind
	if kind == "" {
		kind = portolan.HostKindOf(h.ID)
	}
	b = member(b, &first, `"@odata.type":`)
	if kind == portolan.KindIPAddress {
		b = append(b, `"#microsoft.graph.security.ipAddress"`...)
	} else {
		b = append(b, `"#microsoft.graph.security.hostname"`...)
	}
	if mask&(1<<hID) != 0 {
		b = member(b, &first, `"id":`)
		b = appendString(b, h.ID)
	}
	if mask&(1<<hFirstSeen) != 0 {
		b = member(b, &first, `"firstSeenDateTime":`)
		b = appendTime(b, h.FirstSeenDateTime)
	}
	if mask&(1<<hLastSeen) != 0 {
		b = member(b, &first, `"lastSeenDateTime":`)
		b = appendTime(b, h.LastSeenDateTime)
	}
	if kind == portolan.KindIPAddress {
		// null unless serve was given address databases (internal/mmdb).
		if mask&(1<<hCountryOrRegion) != 0 {
			b = member(b, &first, `"countryOrRegion":`)
			b = appendNullableString(b, h.CountryOrRegion)
		}
		if mask&(1<<hNetblock) != 0 {
			b = member(b, &first, `"netblock":`)
			b = appendNullableString(b, h.Netblock)
		}
		if mask&(1<<hAutonomousSystem) != 0 {
			b = member(b, &first, `"autonomousSystem":`)
			b = appendAutonomousSystem(b, h.AutonomousSystem)
		}
		if mask&(1<<hHostingProvider) != 0 {
			b = member(b, &first, `"hostingProvider":`)
			b = appendNullableString(b, h.HostingProvider)
		}
	} else {
		if mask&(1<<hRegistrar) != 0 {
			b = member(b, &first, `"registrar":null`)
		}
		if mask&(1<<hRegistrant) != 0 {
			b = member(b, &first, `"registrant":null`)
		}
	}
	return b
}

// appendAutonomousSystem writes autonomousSystem in the member order of
// autonomousSystemType, or null.
func appendAutonomousSystem(b []byte, as *portolan.AutonomousSystem) []byte {
	if as == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"name":`...)
	b = appendString(b, as.Name)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, int64(as.Number), 10)
	b = append(b, `,"organization":`...)
	b = appendString(b, as.Organization)
	b = append(b, `,"value":`...)
	b = appendString(b, as.Value)
	return append(b, '}')
}

// getHost serves hosts/{id}.
func (s *Server) getHost(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostSpec)
	if err != nil {
		return err
	}
	id, err := hostKey(rt.key)
	if err != nil {
		return err
	}
	// The key tells the concrete type: its sibling's properties are not
	// selectable on it.
	if err := checkHostSelect(q, portolan.HostKindOf(id)); err != nil {
		return err
	}
	h, err := s.hosts.FindHostByID(r.Context(), id)
	if err != nil {
		return err
	}
	mask := q.Mask(hostType)
	s.writeEntity(w, r, rt, "hosts", q, func(b []byte) []byte {
		return appendHostMembers(b, false, h, mask)
	})
	return nil
}

// checkHostSelect refuses a $select naming a property that a host of kind
// does not have (netblock on a hostname, registrar on an ipAddress).
func checkHostSelect(q *odata.Query, kind portolan.HostKind) error {
	t := hostnameType
	if kind == portolan.KindIPAddress {
		t = ipAddressType
	}
	if err := q.CheckSelect(t); err != nil {
		return queryError(err)
	}
	return nil
}

// Bits of hostComponentType.Properties: the index of each property in the
// description, a constant so that the encoder tests an immediate;
// entity_test.go checks each against its property's name.
const (
	hcID = iota
	hcFirstSeen
	hcLastSeen
	hcName
	hcVersion
	hcCategory
	hcHost
)

var (
	hostComponentsSpec = &odata.Spec{Allowed: odata.Paging | odata.Select | odata.Filter | odata.OrderBy, Type: hostComponentType}
	hostComponentSpec  = &odata.Spec{Allowed: odata.Select, Type: hostComponentType}
)

// appendHostComponentMembers writes a hostComponent as the documented
// examples do: with its @odata.type and an id-only host stub.
func appendHostComponentMembers(b []byte, first bool, c *portolan.HostComponent, mask uint64) []byte {
	b = member(b, &first, `"@odata.type":"#microsoft.graph.security.hostComponent"`)
	if mask&(1<<hcID) != 0 {
		b = member(b, &first, `"id":`)
		b = appendString(b, c.ID)
	}
	if mask&(1<<hcFirstSeen) != 0 {
		b = member(b, &first, `"firstSeenDateTime":`)
		b = appendTime(b, c.FirstSeenDateTime)
	}
	if mask&(1<<hcLastSeen) != 0 {
		b = member(b, &first, `"lastSeenDateTime":`)
		b = appendTime(b, c.LastSeenDateTime)
	}
	if mask&(1<<hcName) != 0 {
		b = member(b, &first, `"name":`)
		b = appendString(b, c.Name)
	}
	if mask&(1<<hcVersion) != 0 {
		// "" for an unknown version, as hostPort services write it.
		b = member(b, &first, `"version":`)
		b = appendString(b, c.Version)
	}
	if mask&(1<<hcCategory) != 0 {
		b = member(b, &first, `"category":`)
		b = appendNullableString(b, c.Category)
	}
	if mask&(1<<hcHost) != 0 {
		b = member(b, &first, `"host":{"id":`)
		b = appendString(b, c.Host)
		b = append(b, '}')
	}
	return b
}

// listHostComponents serves hosts/{id}/components.
func (s *Server) listHostComponents(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostComponentsSpec)
	if err != nil {
		return err
	}
	host, err := hostKey(rt.key)
	if err != nil {
		return err
	}
	if q.Filter != nil || q.OrderBy != nil {
		return hostScoped(s, w, r, rt, q, componentsCollection, host, "components")
	}
	return serveIDPage(s, w, r, rt, q, idPage[*portolan.HostComponent]{
		tokenPath:   "hosts/" + host + "/components",
		contextPath: "hosts" + keyLiteral(host) + "/components",
		typ:         hostComponentType,
		find: func(f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
			return s.hosts.FindHostComponents(r.Context(), host, f)
		},
		id: func(c *portolan.HostComponent) string { return c.ID },
		appendItem: func(b []byte, c *portolan.HostComponent, mask uint64) []byte {
			return appendHostComponentMembers(b, true, c, mask)
		},
	})
}

// getHostComponent serves hostComponents/{id}.
func (s *Server) getHostComponent(w http.ResponseWriter, r *http.Request, rt route) error {
	q, err := parseQuery(r, hostComponentSpec)
	if err != nil {
		return err
	}
	c, err := s.hosts.FindHostComponentByID(r.Context(), rt.key)
	if err != nil {
		return err
	}
	mask := q.Mask(hostComponentType)
	s.writeEntity(w, r, rt, "hostComponents", q, func(b []byte) []byte {
		return appendHostComponentMembers(b, false, c, mask)
	})
	return nil
}
