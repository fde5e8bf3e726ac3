// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"portolan/internal/bus"
	"portolan/internal/cli"
)

// busFlags are the ingest bus's flags, shared by ingest, serve and worker.
type busFlags struct {
	url        string
	stream     string
	subject    string
	partitions int
	maxBytes   int64
	ackWait    time.Duration
	creds      string
}

func (b *busFlags) add(fs *flag.FlagSet, env *cli.Env) {
	fs.StringVar(&b.url, "bus", env.Getenv("PORTOLAN_BUS"), "NATS `URL` of the ingest bus (nats://host:4222); credentials in it are never printed, but are visible\n"+
		"in ps: prefer the environment (env PORTOLAN_BUS)")
	fs.StringVar(&b.stream, "bus-stream", bus.DefaultStream, "JetStream stream of the ingest bus")
	fs.StringVar(&b.subject, "bus-subject", bus.DefaultSubjectPrefix, "subject prefix of the stream: subjects are `prefix`.<partition>")
	fs.IntVar(&b.partitions, "bus-partitions", bus.DefaultPartitions, "host partitions of the stream, fixed when it is created (an existing stream's count wins)")
	fs.StringVar(&b.creds, "bus-creds", env.Getenv("PORTOLAN_BUS_CREDS"), "NATS credentials `file` (user JWT and nkey seed, mode 0600) for servers that require them (env PORTOLAN_BUS_CREDS)")
	fs.Int64Var(&b.maxBytes, "bus-max-bytes", bus.DefaultMaxBytes, "the stream's byte limit: beyond it publishers wait until workers catch up")
}

// addAckWait registers --bus-ack-wait, which only workers set.
func (b *busFlags) addAckWait(fs *flag.FlagSet) {
	fs.DurationVar(&b.ackWait, "bus-ack-wait", bus.DefaultAckWait, "how long a worker may hold a message without news before the server gives it to another\n"+
		"(the longest a killed worker delays its partitions)")
}

func (b *busFlags) check(cmd string) error {
	if b.url == "" {
		return nil
	}
	if !strings.HasPrefix(b.url, "nats://") && !strings.HasPrefix(b.url, "tls://") {
		return fmt.Errorf("%s: --bus %s is not a nats:// or tls:// URL: %w", cmd, bus.Redacted(b.url), cli.ErrUsage)
	}
	if b.partitions <= 0 || b.partitions > 1000 || b.maxBytes <= 0 || b.ackWait < 0 {
		return fmt.Errorf("%s: --bus-partitions takes 1..1000, --bus-max-bytes and --bus-ack-wait a positive value: %w", cmd, cli.ErrUsage)
	}
	return nil
}

// open connects to the bus, creating or checking its stream.
func (b *busFlags) open(ctx context.Context, name string, logger *slog.Logger) (*bus.Bus, error) {
	return bus.Open(ctx, bus.Config{URL: b.url, Stream: b.stream, SubjectPrefix: b.subject, Partitions: b.partitions,
		MaxBytes: b.maxBytes, AckWait: b.ackWait, Name: name, CredsFile: b.creds}, logger)
}
