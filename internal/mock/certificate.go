// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"

	"portolan"
)

var _ portolan.SSLCertificateService = (*SSLCertificateService)(nil)

// SSLCertificateService is a mock of portolan.SSLCertificateService.
type SSLCertificateService struct {
	FindSSLCertificateByIDFn     func(ctx context.Context, id string) (*portolan.SSLCertificate, error)
	SearchSSLCertificatesFn      func(ctx context.Context, search portolan.CertificateSearch, filter portolan.ListFilter) ([]*portolan.SSLCertificate, int, error)
	FindRelatedHostsFn           func(ctx context.Context, certificateID string, filter portolan.ListFilter) ([]*portolan.Host, int, error)
	FindHostSSLCertificatesFn    func(ctx context.Context, host string, filter portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error)
	FindHostSSLCertificateByIDFn func(ctx context.Context, id string) (*portolan.HostSSLCertificate, error)
}

// FindSSLCertificateByID calls FindSSLCertificateByIDFn.
func (s *SSLCertificateService) FindSSLCertificateByID(ctx context.Context, id string) (*portolan.SSLCertificate, error) {
	return s.FindSSLCertificateByIDFn(ctx, id)
}

// SearchSSLCertificates calls SearchSSLCertificatesFn.
func (s *SSLCertificateService) SearchSSLCertificates(ctx context.Context, search portolan.CertificateSearch, filter portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	return s.SearchSSLCertificatesFn(ctx, search, filter)
}

// FindRelatedHosts calls FindRelatedHostsFn.
func (s *SSLCertificateService) FindRelatedHosts(ctx context.Context, certificateID string, filter portolan.ListFilter) ([]*portolan.Host, int, error) {
	return s.FindRelatedHostsFn(ctx, certificateID, filter)
}

// FindHostSSLCertificates calls FindHostSSLCertificatesFn.
func (s *SSLCertificateService) FindHostSSLCertificates(ctx context.Context, host string, filter portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error) {
	return s.FindHostSSLCertificatesFn(ctx, host, filter)
}

// FindHostSSLCertificateByID calls FindHostSSLCertificateByIDFn.
func (s *SSLCertificateService) FindHostSSLCertificateByID(ctx context.Context, id string) (*portolan.HostSSLCertificate, error) {
	return s.FindHostSSLCertificateByIDFn(ctx, id)
}
