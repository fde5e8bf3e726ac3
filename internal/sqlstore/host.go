// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"context"

	"portolan"
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
