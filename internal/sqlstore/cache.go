// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"sync"

	"portolan"
)

// CertificateCache keeps parsed certificates by SHA-1 for a store's reads:
// a certificate never changes, and parsing its DER costs more than the rest
// of a read. Each store holds its own (the zero value is ready), so that
// two stores in one process, as in tests, share nothing. It starts over
// when it holds maxParsedCertificates.
type CertificateCache struct {
	mu sync.Mutex
	m  map[string]*portolan.SSLCertificate
}

const maxParsedCertificates = 10000

// Parse returns a copy of the certificate of der (whose SHA-1 is sha), which
// the caller may fill (first/last seen).
func (c *CertificateCache) Parse(sha string, der []byte) (*portolan.SSLCertificate, error) {
	// A description (short) is its own key: the DER that replaces it, or a
	// later description, is then another entry, never a stale one.
	key := sha
	if portolan.IsDescribedCertificate(der) {
		key = string(der)
	}
	c.mu.Lock()
	p := c.m[key]
	c.mu.Unlock()
	if p == nil {
		var err error
		if p, err = portolan.ParseCertificate(der); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxParsedCertificates {
			c.m = make(map[string]*portolan.SSLCertificate)
		}
		c.m[key] = p
		c.mu.Unlock()
	}
	out := *p
	return &out, nil
}
