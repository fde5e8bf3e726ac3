// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/ingest"
)

// runPrune is `portolan prune --before DATE`: a retention policy. The
// observations scanned before DATE leave the log and every record is
// recomputed from the rest, in one transaction.
func runPrune(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	var before time.Time
	fs.Func("before", "remove the observations scanned before this `time` (RFC 3339, or a date: midnight UTC)", func(v string) error {
		t, err := parseScanTime(v)
		before = t
		return err
	})
	dryRun := fs.Bool("dry-run", false, "count what would be removed and change nothing")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan prune --before TIME [--dry-run] [--data DIR | --store URL]

Removes from the observation log every observation scanned before TIME and
recomputes every record from the observations that remain, in one
transaction (an interruption leaves the store as it was): first and last
seen, times observed, banners, components and certificates then tell only
what was seen since TIME, and a port seen only before is gone (delta
queries report it @removed). Ingesting the removed observations again
brings them back. Imports wait while it runs; reads go on.

Take a backup first (portolan backup). Example, keeping one year:
  portolan prune --before "$(date -u -d '1 year ago' +%%F)"

Flags:
`)
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("prune: unexpected argument %q: %w", fs.Arg(0), cli.ErrUsage)
	}
	if before.IsZero() {
		return fmt.Errorf("prune: --before TIME is required: %w", cli.ErrUsage)
	}
	store, err := stores.Open(ctx, slog.New(slog.NewTextHandler(env.Stderr, nil)))
	if err != nil {
		return err
	}
	defer store.Close()
	pruner, ok := store.(portolan.Pruner)
	if !ok {
		return errors.New("prune: this store cannot prune")
	}
	start := time.Now()
	res, err := pruner.Prune(ctx, portolan.PruneOptions{Before: before, DryRun: *dryRun, Progress: func(n int) {
		if env.Interactive {
			fmt.Fprintf(env.Stderr, "\rrebuilt from %d observations", n)
		}
	}})
	if env.Interactive && !*dryRun {
		fmt.Fprintln(env.Stderr)
	}
	if err != nil {
		return err
	}
	when := before.UTC().Format(time.RFC3339)
	if *dryRun {
		fmt.Fprintf(env.Stdout, "prune (dry run): %s scanned before %s would be removed, %d kept\n", ingest.Plural(res.Removed, "observation"), when, res.Kept)
		return nil
	}
	fmt.Fprintf(env.Stdout, "pruned: %s scanned before %s removed, %d kept, records rebuilt in %s\n", ingest.Plural(res.Removed, "observation"), when, res.Kept, time.Since(start).Round(time.Millisecond))
	return nil
}
