// SPDX-License-Identifier: Apache-2.0

package console

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"portolan"
)

// changesShown is how many changes the changes page lists.
const changesShown = 100

// changeKinds are the kinds the page can filter on, in the change record's
// words.
var changeKinds = []string{"created", "status", "banners", "services", "certificate"}

type changesPage struct {
	page
	Kind, Filter string
	Kinds        []string
	Error        string
	Entries      []changeEntry
	// FromRecord is false when the store keeps no change record: the page
	// then lists recently first-seen ports.
	FromRecord bool
}

type changeEntry struct {
	Position int64
	Kinds    []string
	Port     *portolan.HostPort
}

func (c *Console) serveChanges(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	p := &changesPage{page: c.pageFor(r, "Changes"), Kind: v.Get("kind"), Filter: strings.TrimSpace(v.Get("filter")), Kinds: changeKinds}
	p.Nav = "changes"
	var kind portolan.ChangeKind
	if p.Kind != "" {
		for i, name := range changeKinds {
			if name == p.Kind {
				kind = portolan.ChangeKind(1) << i
			}
		}
		if kind == 0 {
			p.Error = "Unknown kind of change '" + p.Kind + "'; choose one of the list."
		}
	}
	q, err := c.cfg.ParseSearch(p.Filter, "")
	if err != nil && p.Error == "" {
		if portolan.ErrorCode(err) != portolan.EINVALID {
			return err
		}
		p.Error = portolan.ErrorMessage(err)
	}
	if p.Error != "" {
		c.render(w, r, http.StatusBadRequest, "changes", p)
		return nil
	}
	if c.cfg.Changes == nil {
		if p.Entries, err = c.recentlyOpened(r.Context(), q.Filter); err != nil {
			return err
		}
	} else {
		p.FromRecord = true
		if p.Entries, err = c.latestChanges(r.Context(), kind, q.Filter); err != nil {
			return err
		}
	}
	c.render(w, r, http.StatusOK, "changes", p)
	return nil
}

// maxChangeWindows bounds how far back latestChanges looks: windows double,
// so 40 of them reach any position a store hands out.
const maxChangeWindows = 40

// latestChanges reads the change record backwards from its watermark, in
// windows of positions that double until enough hostPort changes of the
// kind asked for are found or the record's horizon is reached. Positions
// are counters on SQLite and transaction ids on PostgreSQL; the doubling
// finds the latest changes in either without knowing which.
func (c *Console) latestChanges(ctx context.Context, kind portolan.ChangeKind, filter portolan.Expr) ([]changeEntry, error) {
	wm, err := c.cfg.Changes.ChangeWatermark(ctx)
	if err != nil {
		return nil, err
	}
	var found []portolan.Change
	until, span := wm.Position, int64(64)
	for i := 0; i < maxChangeWindows && until > wm.Horizon && len(found) < changesShown; i++ {
		since := max(until-span, wm.Horizon)
		changes, err := c.cfg.Changes.Changes(ctx, since, until)
		if err != nil {
			return nil, err
		}
		// Newest first within the window, after those of later windows.
		for j := len(changes) - 1; j >= 0 && len(found) < changesShown*4; j-- {
			ch := changes[j]
			if ch.Collection != portolan.ChangedHostPorts || ch.Kinds == portolan.ChangeCounters {
				continue
			}
			if kind != 0 && ch.Kinds&kind == 0 {
				continue
			}
			found = append(found, ch)
		}
		until, span = since, span*2
	}
	var matching map[string]bool
	if filter != nil && len(found) > 0 {
		// Which of the changed ports match the filter now: the store's own
		// answer over the same range, so that the filter means what it
		// means in a search.
		if matching, err = c.matchingChanged(ctx, filter, until, wm.Position); err != nil {
			return nil, err
		}
	}
	entries := make([]changeEntry, 0, changesShown)
	for _, ch := range found {
		if len(entries) == changesShown {
			break
		}
		if matching != nil && !matching[ch.ID] {
			continue
		}
		hp, err := c.cfg.HostPorts.FindHostPortByID(ctx, ch.ID)
		if portolan.ErrorCode(err) == portolan.ENOTFOUND {
			continue // gone since (a rebuild under new rules)
		} else if err != nil {
			return nil, err
		}
		entries = append(entries, changeEntry{Position: ch.Position, Kinds: ch.Kinds.Names(), Port: hp})
	}
	// Newest import first; within one, in the order of a host's port list.
	slices.SortStableFunc(entries, func(a, b changeEntry) int {
		if a.Position != b.Position {
			return cmp.Compare(b.Position, a.Position)
		}
		if a.Port.Host != b.Port.Host {
			return strings.Compare(a.Port.Host, b.Port.Host)
		}
		if a.Port.Key().Less(b.Port.Key()) {
			return -1
		}
		return 1
	})
	return entries, nil
}

// matchingChanged returns the ids of the hostPorts changed in [since,
// until) that match filter now.
func (c *Console) matchingChanged(ctx context.Context, filter portolan.Expr, since, until int64) (map[string]bool, error) {
	out := map[string]bool{}
	q := portolan.DeltaQuery{Filter: filter, Since: since, Until: until, Top: 1000}
	for {
		page, err := c.cfg.Changes.HostPortChanges(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Entries {
			if !e.Removed && !e.Gone {
				out[e.ID] = true
			}
		}
		if page.Next == "" {
			return out, nil
		}
		q.After = page.Next
	}
}

// recentlyOpened lists the ports first seen most recently, for stores
// without a change record.
func (c *Console) recentlyOpened(ctx context.Context, filter portolan.Expr) ([]changeEntry, error) {
	order := []portolan.OrderKey{{Path: portolan.Path{Name: "firstSeenDateTime", Kind: portolan.ValueTime}, Desc: true}}
	res, err := c.cfg.Search.SearchHostPorts(ctx, portolan.SearchQuery{Filter: filter, OrderBy: order, Top: changesShown})
	if err != nil {
		return nil, err
	}
	entries := make([]changeEntry, len(res.Items))
	for i, hp := range res.Items {
		entries[i] = changeEntry{Kinds: []string{"created"}, Port: hp}
	}
	return entries, nil
}
