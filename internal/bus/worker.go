// SPDX-License-Identifier: Apache-2.0

package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"portolan"
	"portolan/internal/obslog"
)

// DefaultMaxTransactionObservations bounds what one worker transaction
// merges. A worker stops taking partitions once its transaction holds this
// many observations, which leaves the other partitions to other workers; it
// is ingest.DefaultBatchSize, large enough to amortise the commit.
const DefaultMaxTransactionObservations = 10000

// fetchWait is how long a worker waits for one partition's message. The
// server answers at once when the partition has one for it; it waits the
// whole time when the partition is empty or another worker holds its
// message (a pull request without a wait would be parked until that
// message's ack wait ran out). A sweep of an idle stream thus takes
// Partitions × fetchWait, which bounds the delay a worker adds between a
// publish and the merge.
const fetchWait = 10 * time.Millisecond

// WorkerStats count what a worker did; safe to read while it runs.
type WorkerStats struct {
	Messages, Transactions                              atomic.Int64
	Observations, Created, Updated, Duplicates, Refused atomic.Int64
}

// Worker merges the stream's observations into a store.
type Worker struct {
	bus       *Bus
	store     portolan.ObservationService
	consumers []jetstream.Consumer
	logger    *slog.Logger
	// MaxObservations bounds one transaction (0: the default).
	MaxObservations int
	// Concurrency is the number of transactions at once (0: the default).
	Concurrency int
	// Stats are the counts so far.
	Stats WorkerStats
	// OnTransaction, when set, is called after each committed transaction
	// with how long the store took, retries included (worker's metrics).
	// It is called from the merge loops, Concurrency of them at once.
	OnTransaction func(took time.Duration)
}

// ConsumerName is the durable consumer of a partition, shared by every
// worker on the stream.
func ConsumerName(partition int) string { return fmt.Sprintf("portolan-p%03d", partition) }

// Worker creates (or updates to the configured AckWait) the partitions'
// consumers and returns a worker merging into store.
func (b *Bus) Worker(ctx context.Context, store portolan.ObservationService) (*Worker, error) {
	w := &Worker{bus: b, store: store, logger: b.logger}
	for i := range b.cfg.Partitions {
		c, err := b.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       ConsumerName(i),
			Description:   "Portolan workers merging partition " + fmt.Sprint(i),
			FilterSubject: b.cfg.Subject(i),
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       b.cfg.AckWait,
			// One message of the partition in flight at a time: the
			// server itself keeps two workers from merging one host
			// at once (see the package comment).
			MaxAckPending: 1,
			// Redeliver for ever: a message is dropped (Term) only
			// when it cannot be decoded.
			MaxDeliver: -1,
		})
		if err != nil {
			return nil, fmt.Errorf("bus: consumer %s of stream %s: %w", ConsumerName(i), b.cfg.Stream, err)
		}
		w.consumers = append(w.consumers, c)
	}
	return w, nil
}

// DescribeConsumers is the consumers' configuration, one line for people.
func (w *Worker) DescribeConsumers() string {
	c := w.consumers[0].CachedInfo().Config
	return fmt.Sprintf("consumers %s..%s: durable pull, one per partition, filter %s.<partition>, ack explicit after the store commits, ack wait %s, max ack pending %d, max deliver unlimited",
		ConsumerName(0), ConsumerName(len(w.consumers)-1), w.bus.cfg.SubjectPrefix, c.AckWait, c.MaxAckPending)
}

// pending is a fetched message with its decoded observations.
type pending struct {
	msg jetstream.Msg
	obs []*portolan.Observation
}

// DefaultConcurrency is how many transactions a worker runs at once: two,
// so that fetching and decoding the next batch overlap the store's work on
// the last one. The loops take different partitions, as two workers would.
const DefaultConcurrency = 2

// Run merges until ctx is done; it returns nil then. It returns an error
// only when the store fails in a way retrying cannot mend.
func (w *Worker) Run(ctx context.Context) error {
	n := w.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() {
			err := w.run(ctx)
			cancel() // one loop's failure stops the others
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// run is one merge loop.
func (w *Worker) run(ctx context.Context) error {
	maxObs := w.MaxObservations
	if maxObs <= 0 {
		maxObs = DefaultMaxTransactionObservations
	}
	n := len(w.consumers)
	// Workers start their sweeps at different partitions, so that they do
	// not all ask the same consumer first.
	start := rand.IntN(n)
	for ctx.Err() == nil {
		var batch []pending
		total := 0
		// The heartbeat keeps every message taken ours from its fetch
		// to its ack, however long the sweep and the transaction take.
		hb := newHeartbeat(w.bus.cfg.AckWait / 3)
		for k := 0; k < n && total < maxObs; k++ {
			c := w.consumers[(start+k)%n]
			p, ok := w.fetch(ctx, c)
			if !ok {
				continue
			}
			hb.add(p.msg)
			batch = append(batch, p)
			total += len(p.obs)
		}
		start = (start + 1) % n
		if len(batch) == 0 {
			hb.stop()
			continue
		}
		err := w.merge(ctx, batch)
		hb.stop()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// fetch takes the pending message of a partition, if it has one and no
// other worker holds one of it.
func (w *Worker) fetch(ctx context.Context, c jetstream.Consumer) (pending, bool) {
	b, err := c.Fetch(1, jetstream.FetchMaxWait(fetchWait))
	if err != nil {
		if ctx.Err() == nil {
			w.logger.Debug("bus: fetch", "error", err)
		}
		return pending{}, false
	}
	for m := range b.Messages() {
		obs, err := obslog.Decode(m.Data())
		if err != nil {
			// Not Portolan's message, or damaged: redelivering cannot
			// help, and holding it would block the partition.
			w.logger.Error("bus: a message does not decode; dropped", "subject", m.Subject(), "error", err)
			_ = m.Term()
			continue
		}
		return pending{msg: m, obs: obs}, true
	}
	return pending{}, false
}

// merge imports the batch in one transaction and acks its messages after
// the commit. While the store is unavailable it retries (the heartbeat
// keeps the messages meanwhile). When the store refuses a record (ECONFLICT:
// a value the database will not hold), the batch is halved until the
// refused records stand alone, as a local ingest does: each is logged and
// counted, everything else is stored, and the messages are acked, so that
// one odd record can never block its partition.
func (w *Worker) merge(ctx context.Context, batch []pending) error {
	var obs []*portolan.Observation
	for _, p := range batch {
		obs = append(obs, p.obs...)
	}
	start := time.Now()
	res, err := w.importIsolating(ctx, obs)
	if err != nil {
		for _, p := range batch {
			_ = p.msg.Nak()
		}
		return err
	}
	if w.OnTransaction != nil {
		w.OnTransaction(time.Since(start))
	}
	for _, p := range batch {
		// A lost ack costs a redelivery, which the observation log makes
		// harmless; waiting for the ack's confirmation would only slow
		// every transaction.
		_ = p.msg.Ack()
	}
	w.Stats.Messages.Add(int64(len(batch)))
	w.Stats.Transactions.Add(1)
	w.Stats.Observations.Add(int64(res.Observations))
	w.Stats.Created.Add(int64(res.Created))
	w.Stats.Updated.Add(int64(res.Updated))
	w.Stats.Duplicates.Add(int64(res.Duplicates))
	return nil
}

func (w *Worker) importIsolating(ctx context.Context, obs []*portolan.Observation) (portolan.ImportResult, error) {
	res, err := w.importWithRetry(ctx, obs)
	if portolan.ErrorCode(err) != portolan.ECONFLICT {
		return res, err
	}
	if len(obs) == 1 {
		o := obs[0]
		w.logger.Error("bus: the store refuses an observation; dropped", "host", o.Host, "port", o.Port, "protocol", o.Protocol, "error", err)
		w.Stats.Refused.Add(1)
		return portolan.ImportResult{}, nil
	}
	half := len(obs) / 2
	var total portolan.ImportResult
	for _, part := range [][]*portolan.Observation{obs[:half], obs[half:]} {
		res, err := w.importIsolating(ctx, part)
		if err != nil {
			return total, err
		}
		total.Add(res)
	}
	return total, nil
}

// storeRetryFor bounds the retries of one transaction while the store is
// unavailable; past it the worker stops, and its messages go to others.
const storeRetryFor = 5 * time.Minute

func (w *Worker) importWithRetry(ctx context.Context, obs []*portolan.Observation) (portolan.ImportResult, error) {
	deadline := time.Now().Add(storeRetryFor)
	wait := 250 * time.Millisecond
	for {
		res, err := w.store.ImportObservations(ctx, obs)
		if err == nil || portolan.ErrorCode(err) != portolan.EUNAVAILABLE || time.Now().After(deadline) {
			return res, err
		}
		w.logger.Warn("bus: store unavailable; retrying the transaction", "wait", wait, "error", err)
		select {
		case <-ctx.Done():
			return res, errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 8*time.Second)
	}
}

// heartbeat tells the server, every interval, that the messages added are
// still being worked on (InProgress resets their ack wait), so that a slow
// transaction never sees its messages handed to another worker.
type heartbeat struct {
	mu   sync.Mutex
	msgs []jetstream.Msg
	done chan struct{}
}

func newHeartbeat(interval time.Duration) *heartbeat {
	h := &heartbeat{done: make(chan struct{})}
	go func() {
		t := time.NewTicker(max(interval, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				h.mu.Lock()
				for _, m := range h.msgs {
					_ = m.InProgress()
				}
				h.mu.Unlock()
			}
		}
	}()
	return h
}

func (h *heartbeat) add(m jetstream.Msg) {
	h.mu.Lock()
	h.msgs = append(h.msgs, m)
	h.mu.Unlock()
}

// stop ends the heartbeat; no InProgress is sent after it returns (one
// racing an ack just before is ignored by the server).
func (h *heartbeat) stop() {
	close(h.done)
	h.mu.Lock()
	h.msgs = nil
	h.mu.Unlock()
}
