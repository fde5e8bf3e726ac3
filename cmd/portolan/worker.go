// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"portolan/internal/bus"
	"portolan/internal/cli"
	"portolan/internal/metrics"
)

// workerStatsEvery is how often a worker logs its counts.
const workerStatsEvery = 30 * time.Second

// runWorker is `portolan worker`: it merges the observations of the ingest
// bus into the store until SIGINT/SIGTERM. Run several, on several
// machines: they share the stream's partitions.
func runWorker(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	var bf busFlags
	bf.add(fs, env)
	bf.addAckWait(fs)
	maxObs := fs.Int("max-transaction-observations", bus.DefaultMaxTransactionObservations, "observations one store transaction merges at most")
	concurrency := fs.Int("concurrency", bus.DefaultConcurrency, "store transactions at once (on partitions of their own)")
	metricsAddr := fs.String("metrics-addr", env.Getenv("PORTOLAN_METRICS_ADDR"), metricsAddrHelp)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan worker --bus nats://HOST:4222 --store postgres://...

Merges the observations that 'portolan ingest --bus' and 'portolan serve
--bus' publish into the store, one transaction per batch, acknowledging the
batch only after its commit. Several workers share the stream's partitions;
a host's observations are merged by one worker at a time. Stop with Ctrl-C.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	env.LimitMemory(ingestMemoryLimit)
	if fs.NArg() > 0 {
		return fmt.Errorf("worker: unexpected argument %q: %w", fs.Arg(0), cli.ErrUsage)
	}
	if bf.url == "" {
		return fmt.Errorf("worker: --bus (or PORTOLAN_BUS) names the NATS server to consume from: %w", cli.ErrUsage)
	}
	if err := bf.check("worker"); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	var metricsLn net.Listener
	if *metricsAddr != "" {
		// Bound first: an address in use is reported before the store
		// and the bus are opened.
		ln, err := listenMetrics("worker", *metricsAddr)
		if err != nil {
			return err
		}
		defer ln.Close()
		metricsLn = ln
	}
	store, err := stores.Open(ctx, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	b, err := bf.open(ctx, "portolan worker", logger)
	if err != nil {
		return err
	}
	defer b.Close()
	w, err := b.Worker(ctx, store)
	if err != nil {
		return err
	}
	w.MaxObservations, w.Concurrency = *maxObs, *concurrency
	if metricsLn != nil {
		m := metrics.NewWorker(func() metrics.WorkerCounts {
			s := &w.Stats
			return metrics.WorkerCounts{Messages: s.Messages.Load(), Observations: s.Observations.Load(), Created: s.Created.Load(),
				Updated: s.Updated.Load(), Duplicates: s.Duplicates.Load(), Refused: s.Refused.Load()}
		})
		w.OnTransaction = m.Transaction
		stopMetrics := serveMetricsOn(metricsLn, m.Handler(), logger)
		defer stopMetrics()
	}
	fmt.Fprintln(env.Stderr, b.Describe(ctx))
	fmt.Fprintln(env.Stderr, w.DescribeConsumers())
	logger.Info("worker started")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(workerStatsEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				logWorkerStats(logger, w, "worker")
			}
		}
	}()
	err = w.Run(ctx)
	logWorkerStats(logger, w, "worker stopped")
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("worker: %s", userMessage(err))
	}
	return nil
}

func logWorkerStats(logger *slog.Logger, w *bus.Worker, msg string) {
	s := &w.Stats
	logger.Info(msg, "transactions", s.Transactions.Load(), "messages", s.Messages.Load(), "observations", s.Observations.Load(),
		"created", s.Created.Load(), "updated", s.Updated.Load(), "duplicates", s.Duplicates.Load(), "refused", s.Refused.Load())
}
