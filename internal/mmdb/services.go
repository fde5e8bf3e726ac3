// SPDX-License-Identifier: Apache-2.0

package mmdb

import (
	"context"

	"portolan"
)

// Services wraps the read services of a store so that every host they
// return carries the databases' facts. Each field is the store's service
// with the methods that return hosts overridden; a field is nil when the
// store does not implement that service.
type Services struct {
	Hosts        portolan.HostService
	Certificates portolan.SSLCertificateService
	Search       portolan.SearchService
	Changes      portolan.ChangeService
}

// Wrap returns the services of store with db's enrichment. With a nil db
// they are the store's own.
func Wrap(store portolan.Store, db *DB) Services {
	s := Services{Hosts: store, Certificates: store}
	search, _ := store.(portolan.SearchService)
	changes, _ := store.(portolan.ChangeService)
	s.Search, s.Changes = search, changes
	if db == nil {
		return s
	}
	s.Hosts = hostService{store, db}
	s.Certificates = certificateService{store, db}
	if search != nil {
		s.Search = searchService{search, db}
	}
	if changes != nil {
		s.Changes = changeService{changes, db}
	}
	return s
}

// The wrappers: each embeds the store's service and overrides the methods
// whose results hold hosts (TestWrappersCoverEveryHost lists them).
type (
	hostService struct {
		portolan.HostService
		db *DB
	}
	certificateService struct {
		portolan.SSLCertificateService
		db *DB
	}
	searchService struct {
		portolan.SearchService
		db *DB
	}
	changeService struct {
		portolan.ChangeService
		db *DB
	}
)

var (
	_ portolan.HostService           = hostService{}
	_ portolan.SSLCertificateService = certificateService{}
	_ portolan.SearchService         = searchService{}
	_ portolan.ChangeService         = changeService{}
)

func (s hostService) FindHostByID(ctx context.Context, id string) (*portolan.Host, error) {
	h, err := s.HostService.FindHostByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.db.Enrich(h), nil
}

func (s certificateService) FindRelatedHosts(ctx context.Context, certificateID string, filter portolan.ListFilter) ([]*portolan.Host, int, error) {
	hosts, n, err := s.SSLCertificateService.FindRelatedHosts(ctx, certificateID, filter)
	for i := range hosts {
		hosts[i] = s.db.Enrich(hosts[i])
	}
	return hosts, n, err
}

func (s searchService) SearchHosts(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.Host], error) {
	page, err := s.SearchService.SearchHosts(ctx, q)
	for i := range page.Items {
		page.Items[i] = s.db.Enrich(page.Items[i])
	}
	return page, err
}

func (s changeService) HostChanges(ctx context.Context, q portolan.DeltaQuery) (portolan.DeltaPage[*portolan.Host], error) {
	page, err := s.ChangeService.HostChanges(ctx, q)
	for i := range page.Entries {
		page.Entries[i].Item = s.db.Enrich(page.Entries[i].Item)
	}
	return page, err
}
