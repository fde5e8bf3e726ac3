// SPDX-License-Identifier: Apache-2.0

package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"portolan"
	"portolan/internal/obslog"
)

// Message sizes: big enough that a worker's transaction gathers thousands
// of observations from a sweep of the partitions, well under NATS's default
// 1 MiB payload limit even with the largest observation (a 16 KiB banner and
// a certificate).
const (
	MaxMessageObservations = 1000
	MaxMessageBytes        = 512 << 10
)

// DefaultPublishRetryFor is how long a publish is retried while the stream
// refuses it (full: the workers are behind) or the server is away (a
// restart) before the ingest gives up.
const DefaultPublishRetryFor = 10 * time.Minute

// Publisher puts observations on the stream. It implements the
// ObservationService part the ingest pipeline uses, so that ingest --bus and
// serve --bus run the same pipeline as a local ingest: ImportObservations
// returns once every observation of the batch is durable on the stream.
type Publisher struct {
	bus *Bus
	// RetryFor bounds the retries of one batch (0: DefaultPublishRetryFor).
	RetryFor time.Duration
	// OnRetry is told why a batch waits (nil: silent).
	OnRetry func(err error, wait time.Duration)
}

// Publisher returns a publisher on b.
func (b *Bus) Publisher() *Publisher { return &Publisher{bus: b} }

var _ portolan.ObservationService = (*Publisher)(nil)

// Published tells the import API that an import's records are merged later,
// by the workers.
func (p *Publisher) Published() bool { return true }

// Rebuild is the store's: the bus holds no records. EINVALID.
func (p *Publisher) Rebuild(context.Context, func(int)) error {
	return portolan.Errorf(portolan.EINVALID, "Rebuild runs on the store, not on the bus.")
}

// ImportObservations publishes the normalised observations of batch,
// grouped by partition into messages, and waits until the stream has
// acknowledged every message. The result counts them as offered only:
// whether they create or update records, or are duplicates, is known to
// the workers. EUNAVAILABLE when the stream stayed full or unreachable for
// RetryFor.
func (p *Publisher) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	msgs := p.messages(batch)
	if err := p.publish(ctx, msgs); err != nil {
		return portolan.ImportResult{}, err
	}
	return portolan.ImportResult{Observations: len(batch)}, nil
}

// messages groups batch by partition into obslog entries of bounded size.
func (p *Publisher) messages(batch []*portolan.Observation) []*nats.Msg {
	cfg := p.bus.cfg
	byPartition := make([][]*portolan.Observation, cfg.Partitions)
	for _, o := range batch {
		i := Partition(o.Host, cfg.Partitions)
		byPartition[i] = append(byPartition[i], o)
	}
	// A message must fit the stream many times over, or a small stream
	// could refuse it for ever.
	maxBytes := int(min(MaxMessageBytes, cfg.MaxBytes/16))
	var msgs []*nats.Msg
	for i, obs := range byPartition {
		for len(obs) > 0 {
			n, size := 0, 0
			for n < len(obs) && n < MaxMessageObservations && size < maxBytes {
				size += approxSize(obs[n])
				n++
			}
			data := obslog.Encode(obs[:n])
			sum := sha256.Sum256(data)
			m := nats.NewMsg(cfg.Subject(i))
			m.Data = data
			// The content's hash: a retried publish of a message the
			// stream stored already (its ack lost) is stored once.
			m.Header.Set(jetstream.MsgIDHeader, hex.EncodeToString(sum[:16]))
			msgs = append(msgs, m)
			obs = obs[n:]
		}
	}
	return msgs
}

// approxSize is an observation's encoded size, near enough to bound a
// message.
func approxSize(o *portolan.Observation) int {
	n := 64 + len(o.Host) + len(o.Source) + len(o.ScanProtocol) + len(o.Banner) + len(o.Certificate)
	for _, c := range o.Components {
		n += 8 + len(c.Name) + len(c.Version) + len(c.Category)
	}
	for _, h := range o.Hostnames {
		n += 2 + len(h)
	}
	return n
}

// publish sends msgs asynchronously (the client bounds the messages in
// flight to publishWindow) and waits for every acknowledgement; the ones
// that failed (stream full, server restarting, ack timed out) are sent again
// after a pause, until RetryFor has passed.
func (p *Publisher) publish(ctx context.Context, msgs []*nats.Msg) error {
	limit := p.RetryFor
	if limit <= 0 {
		limit = DefaultPublishRetryFor
	}
	deadline := time.Now().Add(limit)
	wait := 100 * time.Millisecond
	for {
		failed, lastErr := p.publishOnce(ctx, msgs)
		if len(failed) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return portolan.WrapError(portolan.EUNAVAILABLE, lastErr,
				"The ingest bus did not take %d messages within %s (the stream is full, or the server unreachable).", len(failed), limit)
		}
		if p.OnRetry != nil {
			p.OnRetry(lastErr, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
		msgs = failed
	}
}

// publishOnce publishes msgs and returns those not acknowledged.
func (p *Publisher) publishOnce(ctx context.Context, msgs []*nats.Msg) (failed []*nats.Msg, lastErr error) {
	type sent struct {
		msg *nats.Msg
		ack jetstream.PubAckFuture
	}
	inFlight := make([]sent, 0, len(msgs))
	for _, m := range msgs {
		// The window is full: PublishMsgAsync waits (its stall wait) and
		// then refuses; wait for the acks of what is in flight and go on.
		f, err := p.bus.js.PublishMsgAsync(m, jetstream.WithStallWait(time.Second))
		for err == jetstream.ErrTooManyStalledMsgs {
			select {
			case <-p.bus.js.PublishAsyncComplete():
			case <-ctx.Done():
				return append(failed, m), ctx.Err()
			case <-time.After(5 * time.Second):
			}
			f, err = p.bus.js.PublishMsgAsync(m, jetstream.WithStallWait(time.Second))
		}
		if err != nil {
			failed, lastErr = append(failed, m), err
			continue
		}
		inFlight = append(inFlight, sent{m, f})
	}
	for _, s := range inFlight {
		select {
		case <-s.ack.Ok():
		case err := <-s.ack.Err():
			failed, lastErr = append(failed, s.msg), err
		case <-ctx.Done():
			return append(failed, s.msg), ctx.Err()
		}
	}
	if lastErr != nil {
		lastErr = fmt.Errorf("bus: publish: %w", lastErr)
	}
	return failed, lastErr
}
