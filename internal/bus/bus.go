// SPDX-License-Identifier: Apache-2.0

// Package bus is the ingest bus on NATS JetStream: publishers (ingest --bus,
// serve --bus) put normalised observations on a stream, and workers merge
// them into the store.
//
// Layout. The stream's subjects are <prefix>.<partition>, the partition being
// a hash of the observation's host modulo Partitions, so one host's
// observations always share a subject. A message is an obslog entry: several
// observations of one partition (up to MaxMessageObservations, or about
// MaxMessageBytes), in the observation log's own compact encoding.
//
// Delivery. Each partition has a durable pull consumer of its own with
// MaxAckPending 1: the server hands a partition's next message to nobody
// while one is unacknowledged, so a partition — and with it every host in it
// — is merged by one worker at a time, without any claim protocol between
// workers. A worker sweeps the partitions, takes the one pending message of
// each that has one, imports them all in one store transaction and acks them
// after the commit. A worker that dies holding messages loses nothing: the
// server redelivers them after AckWait, and importing them again meets the
// observation log's identity (host, identity), so nothing counts twice.
//
// Back-pressure. The stream is a work queue (acked messages go) limited to
// MaxBytes with DiscardNew, so when workers fall behind the stream refuses
// new messages; the publisher then waits and retries instead of buffering.
package bus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Config.
const (
	DefaultStream        = "PORTOLAN_OBSERVATIONS"
	DefaultSubjectPrefix = "portolan.obs"
	DefaultPartitions    = 16
	DefaultMaxBytes      = 1 << 30
	DefaultAckWait       = 30 * time.Second
)

// partitionsKey is the stream metadata that records the partition count, so
// that publishers and workers started with another count are refused
// instead of hashing hosts to other subjects than the stream's.
const partitionsKey = "portolan.partitions"

// Config names the stream and its shape.
type Config struct {
	// URL is the NATS server (nats://host:4222, comma-separated for a
	// cluster). It may carry credentials, so it is never logged whole.
	URL string
	// Stream is the JetStream stream's name.
	Stream string
	// SubjectPrefix: the stream's subjects are SubjectPrefix.<partition>.
	SubjectPrefix string
	// Partitions is the number of host partitions; it is fixed when the
	// stream is created.
	Partitions int
	// MaxBytes bounds the stream; beyond, publishers wait.
	MaxBytes int64
	// Replicas is the stream's replication factor in a cluster (1 alone).
	Replicas int
	// AckWait is how long a worker may hold a message before the server
	// gives it to another: the longest a dead worker delays its partitions.
	AckWait time.Duration
	// Name is the NATS connection name the server shows (nats server
	// report connections), e.g. "portolan worker".
	Name string
	// CredsFile, when set, is a NATS credentials file (user JWT and nkey
	// seed) to authenticate with; it must be readable by its owner only.
	CredsFile string
}

func (c *Config) defaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = DefaultSubjectPrefix
	}
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
}

// Bus is a connection to the NATS server with the stream checked.
type Bus struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	logger *slog.Logger
}

// Redacted is the URL without its password, for messages.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a NATS URL)"
	}
	return u.Redacted()
}

// publishWindow bounds the messages published and not yet acknowledged: with
// messages of at most about MaxMessageBytes, it bounds the publisher's
// memory, and it keeps enough in flight to hide the round trip.
const publishWindow = 64

// Open connects to the NATS server and creates the stream, or checks that
// the existing one has the configured shape. logger, when not nil, gets the
// connection's events (disconnects, reconnects) without the URL's secrets.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Bus, error) {
	cfg.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	where := Redacted(cfg.URL)
	opts := []nats.Option{nats.Name(cfg.Name)}
	if cfg.CredsFile != "" {
		fi, err := os.Stat(cfg.CredsFile)
		if err != nil {
			return nil, fmt.Errorf("bus: credentials: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("bus: credentials file %s has mode %04o; it must be readable by its owner only (chmod 600)", cfg.CredsFile, fi.Mode().Perm())
		}
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	nc, err := nats.Connect(cfg.URL, append(opts,
		// A NATS restart must not end a long ingest or a worker: reconnect
		// for ever, and let the publish retries bridge the gap.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: the connection was closed on purpose
				logger.Warn("bus: disconnected", "server", where, "error", err.Error())
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { logger.Info("bus: reconnected", "server", where) }),
	)...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to %s: %w", where, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(publishWindow))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: %w", err)
	}
	b := &Bus{cfg: cfg, nc: nc, js: js, logger: logger}
	if err := b.ensureStream(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

// Close drains nothing (a publisher has waited for its acks, a worker acks
// before it fetches again) and closes the connection.
func (b *Bus) Close() { b.nc.Close() }

// Config is the configuration in force (the stream's partition count when it
// existed already).
func (b *Bus) Config() Config { return b.cfg }

// Ping reports whether the server answers and the stream exists, for
// /readyz.
func (b *Bus) Ping(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("bus: not connected to %s (%s)", Redacted(b.cfg.URL), b.nc.Status())
	}
	if _, err := b.stream.Info(ctx); err != nil {
		return fmt.Errorf("bus: stream %s: %w", b.cfg.Stream, err)
	}
	return nil
}

// subjects returns the stream's subject filter.
func (c Config) subjects() string { return c.SubjectPrefix + ".*" }

// Subject is the subject of a partition.
func (c Config) Subject(partition int) string {
	return c.SubjectPrefix + "." + strconv.Itoa(partition)
}

// Partition is the partition of a (normalised) host: FNV-1a, which is
// stable across versions and platforms, unlike the runtime's map hash.
func Partition(host string, partitions int) int {
	h := fnv.New32a()
	h.Write([]byte(host))
	return int(h.Sum32() % uint32(partitions))
}

// ensureStream creates the stream or checks the existing one: its subjects
// and partition count must be those configured (another count would send a
// host to two partitions). MaxBytes is brought to the configured value.
func (b *Bus) ensureStream(ctx context.Context) error {
	want := jetstream.StreamConfig{
		Name:        b.cfg.Stream,
		Description: fmt.Sprintf("Portolan observations, partitioned by host (%s=%d)", partitionsKey, b.cfg.Partitions),
		Subjects:    []string{b.cfg.subjects()},
		// Work queue: a message acked by its partition's consumer goes,
		// so MaxBytes bounds what is waiting, not what was ever sent.
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
		MaxBytes:  b.cfg.MaxBytes,
		// DiscardNew refuses publishes beyond MaxBytes rather than
		// dropping unmerged observations: the publisher's back-pressure.
		Discard:  jetstream.DiscardNew,
		Replicas: b.cfg.Replicas,
		// Publishers retry a publish whose ack was lost; the message id
		// makes the stream store it once.
		Duplicates: 2 * time.Minute,
		Metadata:   map[string]string{partitionsKey: strconv.Itoa(b.cfg.Partitions)},
	}
	s, err := b.js.Stream(ctx, b.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = b.js.CreateStream(ctx, want)
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("bus: create stream %s: %w", b.cfg.Stream, err)
		}
		if err != nil { // another process created it meanwhile
			s, err = b.js.Stream(ctx, b.cfg.Stream)
		}
	}
	if err != nil {
		return fmt.Errorf("bus: stream %s: %w", b.cfg.Stream, err)
	}
	info := s.CachedInfo()
	have := info.Config
	if !slices.Equal(have.Subjects, want.Subjects) {
		return fmt.Errorf("bus: stream %s has subjects %q, not %q: choose another --bus-stream or --bus-subject", b.cfg.Stream, have.Subjects, want.Subjects)
	}
	if have.Retention != jetstream.WorkQueuePolicy {
		return fmt.Errorf("bus: stream %s has %s retention, not the work queue Portolan needs", b.cfg.Stream, have.Retention)
	}
	if n, err := streamPartitions(have); err != nil || n <= 0 {
		return fmt.Errorf("bus: stream %s records no partition count (%s): it was not made by Portolan", b.cfg.Stream, partitionsKey)
	} else if n != b.cfg.Partitions {
		// The stream's count wins: it is what the data was hashed with.
		b.logger.Warn("bus: the stream's partition count differs from the configured one; using the stream's",
			"stream", b.cfg.Stream, "stream_partitions", n, "configured", b.cfg.Partitions)
		b.cfg.Partitions = n
	}
	if have.MaxBytes != want.MaxBytes || have.Discard != jetstream.DiscardNew {
		have.MaxBytes, have.Discard = want.MaxBytes, jetstream.DiscardNew
		if s, err = b.js.UpdateStream(ctx, have); err != nil {
			return fmt.Errorf("bus: update the limits of stream %s: %w", b.cfg.Stream, err)
		}
	}
	b.stream = s
	return nil
}

// streamPartitions reads the partition count a stream was created with: from
// its metadata, or, on servers before 2.10 (which drop metadata), from its
// description, where it is written too.
func streamPartitions(c jetstream.StreamConfig) (int, error) {
	if v, ok := c.Metadata[partitionsKey]; ok {
		return strconv.Atoi(v)
	}
	_, v, ok := strings.Cut(c.Description, "("+partitionsKey+"=")
	if !ok {
		return 0, errors.New("no partition count")
	}
	v, _, _ = strings.Cut(v, ")")
	return strconv.Atoi(v)
}

// Describe is the stream's configuration in force, one line for people: what
// serve, ingest --bus and worker print at start.
func (b *Bus) Describe(ctx context.Context) string {
	info, err := b.stream.Info(ctx)
	if err != nil {
		return fmt.Sprintf("stream %s: %v", b.cfg.Stream, err)
	}
	c := info.Config
	return fmt.Sprintf("bus %s: stream %s, subjects %s (%d partitions by host), %s retention, %s storage, %d replicas, max %d bytes (discard %s), holding %d messages, %d bytes",
		Redacted(b.cfg.URL), c.Name, c.Subjects[0], b.cfg.Partitions, c.Retention, c.Storage, c.Replicas, c.MaxBytes, c.Discard, info.State.Msgs, info.State.Bytes)
}

// DeleteStream deletes the stream and its consumers, with every message not
// yet merged: for tests and benchmarks on a shared server.
func (b *Bus) DeleteStream(ctx context.Context) error {
	return b.js.DeleteStream(ctx, b.cfg.Stream)
}
