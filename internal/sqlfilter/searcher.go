// SPDX-License-Identifier: Apache-2.0

package sqlfilter

import (
	"context"

	"portolan"
)

// Searcher implements portolan.SearchService over one store: the store
// embeds it and fills in what is its own (dialect, table names, how its SQL
// runs and how it loads records), so that the search methods are written
// once for both databases.
type Searcher struct {
	Dialect *Dialect
	Tables  Tables
	Run     Runner
	// ParseCertificate turns a certificate's SHA-1 and DER into the entity
	// through the store's parsed-certificate cache.
	ParseCertificate func(sha string, der []byte) (*portolan.SSLCertificate, error)
	// HostCertificates loads hostSslCertificates by id.
	HostCertificates func(ctx context.Context, ids []string) ([]*portolan.HostSSLCertificate, error)

	schemas *schemas
}

// schemas are a Searcher's collection schemas, made once.
type schemas struct {
	hostPort, host, certificate, component, hostCertificate *Schema
}

var _ portolan.SearchService = (*Searcher)(nil)

// NewSearcher returns a Searcher; see its fields.
func NewSearcher(d *Dialect, t Tables, run Runner, parse func(string, []byte) (*portolan.SSLCertificate, error),
	hostCerts func(context.Context, []string) ([]*portolan.HostSSLCertificate, error)) Searcher {
	return Searcher{Dialect: d, Tables: t, Run: run, ParseCertificate: parse, HostCertificates: hostCerts,
		schemas: &schemas{
			hostPort:        HostPortSchema(t),
			host:            HostSchema(),
			certificate:     CertificateSchema(),
			component:       ComponentSchema(),
			hostCertificate: HostCertificateSchema(),
		}}
}

// SearchHostPorts implements portolan.SearchService.
func (s Searcher) SearchHostPorts(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.HostPort], error) {
	return SearchHostPorts(ctx, s.Dialect, s.schemas.hostPort, s.Run, q)
}

// SearchHosts implements portolan.SearchService.
func (s Searcher) SearchHosts(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.Host], error) {
	return SearchHosts(ctx, s.Dialect, s.schemas.host, s.Tables, s.Run, q)
}

// FilterSSLCertificates implements portolan.SearchService.
func (s Searcher) FilterSSLCertificates(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.SSLCertificate], error) {
	return SearchCertificates(ctx, s.Dialect, s.schemas.certificate, s.Run, q, s.ParseCertificate)
}

// SearchHostComponents implements portolan.SearchService.
func (s Searcher) SearchHostComponents(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.HostComponent], error) {
	return SearchHostComponents(ctx, s.Dialect, s.schemas.component, s.Tables, s.Run, q)
}

// SearchHostSSLCertificates implements portolan.SearchService.
func (s Searcher) SearchHostSSLCertificates(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.HostSSLCertificate], error) {
	return SearchHostCertificates(ctx, s.Dialect, s.schemas.hostCertificate, s.Tables, s.Run, q, s.HostCertificates)
}
