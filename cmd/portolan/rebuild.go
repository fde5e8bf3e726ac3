// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"portolan/internal/cli"
)

// runRebuild is `portolan rebuild`: it replays the observation log through
// the current rules, in one transaction of the store.
func runRebuild(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: portolan rebuild [flags]\n\nRecomputes every record (hostPorts, banners, components, certificates,\nhosts) from the append-only observation log, with the current merge and\nfingerprint rules. It runs in one transaction: if it is interrupted, the\nprevious records stay.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rebuild takes no arguments: %w", cli.ErrUsage)
	}
	store, err := stores.Open(ctx, slog.New(slog.NewTextHandler(env.Stderr, nil)))
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	var replayed int
	err = store.Rebuild(ctx, func(n int) {
		replayed = n
		if env.Interactive {
			fmt.Fprintf(env.Stderr, "\rreplayed %d observations", n)
		}
	})
	if env.Interactive {
		fmt.Fprintln(env.Stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "rebuilt: %d observations replayed in %s\n", replayed, time.Since(start).Round(time.Millisecond))
	return nil
}
