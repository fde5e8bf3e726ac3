// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"encoding/json"
	"fmt"

	"portolan"
)

// hostDump is everything a store says about one host id.
type hostDump struct {
	ID             string                         `json:"id"`
	Error          string                         `json:"error,omitempty"`
	Host           *portolan.Host                 `json:"host,omitempty"`
	PortCount      int                            `json:"portCount"`
	Ports          []*portolan.HostPort           `json:"ports"`
	Components     []*portolan.HostComponent      `json:"components"`
	Certificates   []*portolan.HostSSLCertificate `json:"certificates"`
	RelatedHosts   map[string][]*portolan.Host    `json:"relatedHosts,omitempty"`
	SearchByCN     map[string][]string            `json:"searchByCommonName,omitempty"`
	PortsByID      []*portolan.HostPort           `json:"portsById"`
	ComponentsByID []*portolan.HostComponent      `json:"componentsById"`
}

// Dump renders, as indented JSON, everything store answers about the given
// host ids through the read interfaces: the host, its ports, components and
// certificates, each also fetched by id, and the certificates' related hosts
// and search results. Two stores holding the same records dump the same
// bytes.
func Dump(ctx context.Context, store portolan.Store, hosts []string) ([]byte, error) {
	var out []hostDump
	for _, id := range hosts {
		d := hostDump{ID: id}
		h, err := store.FindHostByID(ctx, id)
		if err != nil {
			if portolan.ErrorCode(err) != portolan.ENOTFOUND {
				return nil, fmt.Errorf("find host %s: %w", id, err)
			}
			d.Error = portolan.ENOTFOUND
			if _, _, err := store.FindHostPorts(ctx, portolan.HostPortFilter{Host: id}); portolan.ErrorCode(err) != portolan.ENOTFOUND {
				return nil, fmt.Errorf("ports of unknown host %s: want ENOTFOUND, got %v", id, err)
			}
			out = append(out, d)
			continue
		}
		d.Host = h
		if d.Ports, d.PortCount, err = store.FindHostPorts(ctx, portolan.HostPortFilter{Host: id, Count: true}); err != nil {
			return nil, fmt.Errorf("ports of %s: %w", id, err)
		}
		for _, p := range d.Ports {
			byID, err := store.FindHostPortByID(ctx, p.ID)
			if err != nil {
				return nil, fmt.Errorf("hostPort %s: %w", p.ID, err)
			}
			d.PortsByID = append(d.PortsByID, byID)
		}
		if d.Components, _, err = store.FindHostComponents(ctx, id, portolan.ListFilter{}); err != nil {
			return nil, fmt.Errorf("components of %s: %w", id, err)
		}
		for _, c := range d.Components {
			byID, err := store.FindHostComponentByID(ctx, c.ID)
			if err != nil {
				return nil, fmt.Errorf("component %s: %w", c.ID, err)
			}
			d.ComponentsByID = append(d.ComponentsByID, byID)
		}
		if d.Certificates, _, err = store.FindHostSSLCertificates(ctx, id, portolan.ListFilter{}); err != nil {
			return nil, fmt.Errorf("certificates of %s: %w", id, err)
		}
		for _, hc := range d.Certificates {
			if _, err := store.FindHostSSLCertificateByID(ctx, hc.ID); err != nil {
				return nil, fmt.Errorf("hostSslCertificate %s: %w", hc.ID, err)
			}
			cert, err := store.FindSSLCertificateByID(ctx, hc.SSLCertificate.ID)
			if err != nil {
				return nil, fmt.Errorf("sslCertificate %s: %w", hc.SSLCertificate.ID, err)
			}
			related, _, err := store.FindRelatedHosts(ctx, cert.ID, portolan.ListFilter{})
			if err != nil {
				return nil, fmt.Errorf("related hosts of %s: %w", cert.ID, err)
			}
			if d.RelatedHosts == nil {
				d.RelatedHosts = map[string][]*portolan.Host{}
				d.SearchByCN = map[string][]string{}
			}
			d.RelatedHosts[cert.ID] = related
			found, _, err := store.SearchSSLCertificates(ctx, portolan.CertificateSearch{Field: "subject/commonName", Value: cert.Subject.CommonName}, portolan.ListFilter{})
			if err != nil {
				return nil, fmt.Errorf("search %s: %w", cert.Subject.CommonName, err)
			}
			for _, f := range found {
				d.SearchByCN[cert.Subject.CommonName] = append(d.SearchByCN[cert.Subject.CommonName], f.ID+" "+f.FirstSeenDateTime.String()+" "+f.LastSeenDateTime.String())
			}
		}
		out = append(out, d)
	}
	return json.MarshalIndent(out, "", "  ")
}
