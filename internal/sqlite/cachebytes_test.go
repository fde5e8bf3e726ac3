// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"fmt"
	"strings"
	"testing"

	"portolan"
)

// TestPageCacheIsBoundedByBytes fills the page cache with pages of large
// banners: the estimate of what it holds stays under its bound, a page
// larger than a page may be is not kept, and replacing a page counts it
// once.
func TestPageCacheIsBoundedByBytes(t *testing.T) {
	page := func(bannerBytes int) []*portolan.HostPort {
		return []*portolan.HostPort{{ID: "192.0.2.1$$443", Host: "192.0.2.1", Port: 443, Protocol: portolan.TCP,
			Banners: []portolan.HostPortBanner{{Banner: strings.Repeat("x", bannerBytes)}}}}
	}
	var c readCache
	for i := range 200 {
		c.put(fmt.Sprint(i), cachedPage{generation: 1, ports: page(1 << 20)})
		if c.bytes > maxCachedTotalBytes {
			t.Fatalf("after %d pages of 1 MiB the cache holds %d bytes, over %d", i+1, c.bytes, maxCachedTotalBytes)
		}
	}
	if len(c.pages) >= 200 || len(c.pages) == 0 {
		t.Errorf("%d pages of 1 MiB kept", len(c.pages))
	}
	sum := 0
	for _, p := range c.pages {
		sum += p.bytes
	}
	if sum != c.bytes || sum < len(c.pages)<<20 {
		t.Errorf("the cache counts %d bytes; its pages %d, at least %d", c.bytes, sum, len(c.pages)<<20)
	}

	c = readCache{}
	c.put("huge", cachedPage{generation: 1, ports: page(maxCachedPageBytes + 1)})
	if _, ok := c.get("huge", 1); ok {
		t.Error("a page over the bound of one page was kept")
	}
	c.put("a", cachedPage{generation: 1, ports: page(1000)})
	before := c.bytes
	c.put("a", cachedPage{generation: 2, ports: page(1000)})
	if c.bytes != before {
		t.Errorf("replacing a page: %d bytes, want %d", c.bytes, before)
	}
	if p, ok := c.get("a", 2); !ok || len(p.ports) != 1 {
		t.Error("the replaced page is not served")
	}
}
