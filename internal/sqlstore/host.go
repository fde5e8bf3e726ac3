// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"context"
	"encoding/base64"
	"strings"

	"portolan"
	"portolan/internal/merge"
)

// FindHostComponents implements portolan.HostService.FindHostComponents
// over d: the components of every host id host covers (a name and the
// addresses it aliases), or merge.HostNotFound.
func FindHostComponents(ctx context.Context, d Dialect, host string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	members, err := HostMembers(ctx, d, host)
	if err != nil {
		return nil, 0, err
	}
	return d.HostComponents(ctx, members, f)
}

// FindHostComponentByID implements portolan.HostService.FindHostComponentByID
// over d. The id is base64 of "name$$version$$category$$host"
// (portolan.HostComponentID) and a host never contains '$', so the host is
// what follows the last "$$": the lookup reads that host's components.
func FindHostComponentByID(ctx context.Context, d Dialect, id string) (*portolan.HostComponent, error) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return nil, merge.HostComponentNotFound(id)
	}
	i := strings.LastIndex(string(raw), "$$")
	if i < 0 {
		return nil, merge.HostComponentNotFound(id)
	}
	comps, _, err := d.HostComponents(ctx, []string{string(raw[i+2:])}, portolan.ListFilter{})
	if err != nil {
		return nil, err
	}
	for _, c := range comps {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, merge.HostComponentNotFound(id)
}
