// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"context"
	"sync"

	"portolan"
)

// rangeCache shares the reads of the change record among the workers: the
// subscriptions that are caught up all read [their cursor, the watermark)
// with the same bounds in the same round, and those with the same $filter
// need the same matches. The first worker to ask reads; the others wait
// for its answer. Only the last few ranges are kept: a worker that lags
// behind (retrying) reads its own range.
type rangeCache struct {
	store Store
	mu    sync.Mutex
	keys  []rangeKey // oldest first
	items map[rangeKey]*rangeItem
}

// rangeKey is a range of positions and, for matches, a filter.
type rangeKey struct {
	since, until int64
	filter       string
	matches      bool
}

type rangeItem struct {
	done    chan struct{}
	changes []portolan.Change
	matches map[string]bool
	err     error
}

const cachedRanges = 32

func newRangeCache(s Store) *rangeCache {
	return &rangeCache{store: s, items: map[rangeKey]*rangeItem{}}
}

// get returns the item of k, filling it with fill when it is new.
func (c *rangeCache) get(ctx context.Context, k rangeKey, fill func(*rangeItem)) (*rangeItem, error) {
	c.mu.Lock()
	it, ok := c.items[k]
	if !ok {
		it = &rangeItem{done: make(chan struct{})}
		c.items[k] = it
		c.keys = append(c.keys, k)
		if len(c.keys) > cachedRanges {
			delete(c.items, c.keys[0])
			c.keys = c.keys[1:]
		}
	}
	c.mu.Unlock()
	if !ok {
		fill(it)
		close(it.done)
		if it.err != nil {
			c.forget(k, it) // a failed read is not kept
		}
	}
	select {
	case <-it.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return it, it.err
}

func (c *rangeCache) forget(k rangeKey, it *rangeItem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items[k] == it {
		delete(c.items, k)
	}
}

// changes returns the change record in [since, until).
func (c *rangeCache) changes(ctx context.Context, since, until int64) ([]portolan.Change, error) {
	it, err := c.get(ctx, rangeKey{since: since, until: until}, func(it *rangeItem) {
		// The read is not bound to one worker's context: others wait
		// for it.
		it.changes, it.err = c.store.Changes(context.WithoutCancel(ctx), since, until)
	})
	if err != nil {
		return nil, err
	}
	return it.changes, nil
}

// matches returns the ids of the hostPorts changed in [since, until) that
// match filter now, as the store's delta query answers it (the same SQL as
// hostPorts/delta, which agrees with portolan.Evaluate by the stores'
// property tests).
func (c *rangeCache) matches(ctx context.Context, text string, filter portolan.Expr, since, until int64) (map[string]bool, error) {
	it, err := c.get(ctx, rangeKey{since: since, until: until, filter: text, matches: true}, func(it *rangeItem) {
		ctx := context.WithoutCancel(ctx)
		it.matches = map[string]bool{}
		q := portolan.DeltaQuery{Filter: filter, Since: since, Until: until, Top: 1000}
		for {
			page, err := c.store.HostPortChanges(ctx, q)
			if err != nil {
				it.err = err
				return
			}
			for _, e := range page.Entries {
				if !e.Removed {
					it.matches[e.ID] = true
				}
			}
			if page.Next == "" {
				return
			}
			q.After = page.Next
		}
	})
	if err != nil {
		return nil, err
	}
	return it.matches, nil
}
