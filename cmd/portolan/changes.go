// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"log/slog"
	"time"

	"portolan"
)

// defaultChangeRetention is serve's --change-retention: 30 days, as
// search-and-changes.md §4 suggests.
const defaultChangeRetention = 30 * 24 * time.Hour

// pruneInterval is how often serve forgets changes older than the
// retention window.
const pruneInterval = time.Hour

// pruneChanges forgets, now and then every pruneInterval until ctx ends,
// the changes recorded more than retention ago (0 keeps everything).
func pruneChanges(ctx context.Context, store portolan.Store, retention time.Duration, logger *slog.Logger) {
	cs, ok := store.(portolan.ChangeService)
	if !ok || retention <= 0 {
		return
	}
	for {
		wm, err := cs.PruneChanges(ctx, time.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			logger.Warn("pruning the change record failed", "error", err)
		} else if err == nil {
			logger.Debug("change record pruned", "horizon", wm.Horizon, "position", wm.Position)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pruneInterval):
		}
	}
}
