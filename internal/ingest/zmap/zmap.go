// SPDX-License-Identifier: Apache-2.0

// Package zmap reads ZMap's output, CSV (-O csv, with a header row) or JSON
// lines (-O json), as portolan observations.
//
// A ZMap file is one scan (intelligence.md "The instants of each format"):
// all the answers of one (saddr, protocol, port), including the
// retransmitted SYN-ACKs ZMap marks repeat=1, make one observation, seen at
// the earliest answer and scanned at the latest. Answers of one port may be
// seconds apart, so the Reader keeps a small state per distinct port (about
// 100 bytes) and returns the observations once the input is exhausted, in
// the order their ports first appeared; its memory is proportional to the
// number of distinct ports in the file.
//
// Fields used (ZMap's names): saddr, the address that answered; sport, the
// port it answered from, which is the scanned port; success and
// classification; timestamp-ts with timestamp-us, or timestamp-str. A port
// with any successful answer (success=1: a SYN-ACK, or a UDP reply) is open.
// Answers with success=0 are RSTs from a closed port (ZMap writes them only
// with an output filter such as "success = 0 || success = 1"); they become
// "closed" observations rather than being dropped, because the store keeps
// closed observations in its log and lets them update existing records.
// ICMP answers (classifications icmp-*) say nothing about a port and are
// skipped. Protocol is udp for the udp classification, tcp otherwise.
//
// ZMap's default output is the bare list of addresses, without a header and
// without the port or any time (see zmap_80_default_saddr.csv). The port then
// comes from Options.Port and the times from Options.ModTime, the file's
// modification time; reading fails with a message asking for --port when
// the port is unknown, and UsedModTime tells the caller that the times are
// the file's, so that its summary can say so.
package zmap

import (
	"bufio"
	"io"
	"time"

	"portolan"
	"portolan/internal/ingest/scan"
)

// Source is the Observation.Source of everything this package reads.
const Source = "zmap"

// Options configures a Reader. The zero value reads files that carry their
// ports and times, with the default limits.
type Options struct {
	// Port is the scanned port (zmap -p) for files without sport; 0 when
	// unknown, which fails such files.
	Port int
	// ModTime is the file's modification time, used as both instants of
	// every observation when the file has no timestamp fields.
	ModTime time.Time
	// MaxLineBytes bounds one line; 0 means scan.DefaultMaxLineBytes. A
	// longer line is a record error.
	MaxLineBytes int
	// MaxDepth bounds JSON nesting; 0 means scan.DefaultMaxDepth. A deeper
	// line is a record error.
	MaxDepth int
}

// Reader reads one ZMap output file as observations. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type Reader struct {
	opts   Options
	lr     *scan.LineReader
	form   form     // the layout, known after the first line
	fields [][]byte // the fields of the last CSV row, reused
	dec    scan.Decoder
	agg    aggregator

	out         []*portolan.Observation // what remains to be returned after EOF
	drained     bool                    // the input is exhausted; out is final
	err         error                   // returned once out is empty: io.EOF or fatal
	usedModTime bool
}

var _ portolan.ObservationReader = (*Reader)(nil)

// NewReader returns a Reader of r. Nothing is read before the first Read.
func NewReader(r io.Reader, opts Options) *Reader {
	// The limits are reported in record errors, so they are resolved here.
	opts.MaxLineBytes, opts.MaxDepth = scan.Limits(opts.MaxLineBytes, opts.MaxDepth)
	return &Reader{
		opts: opts,
		lr:   scan.NewLineReader(bufio.NewReaderSize(r, scan.BufferSize), opts.MaxLineBytes),
		dec:  scan.Decoder{MaxDepth: opts.MaxDepth},
		agg:  newAggregator(),
	}
}

// Read returns the next observation; io.EOF at the end; a
// *portolan.InputError for a line that cannot be used, after which the
// caller reads on; and a *portolan.InputError with Fatal set, or the
// underlying reader's error wrapped, when the input cannot be read further:
// a file whose port or times cannot be known (see Options), or a CSV
// without a header row. Observations come only
// after the whole input has been read (see the package documentation); when
// reading stops on an error, the observations of the lines read until then
// are returned first, then the error.
func (r *Reader) Read() (*portolan.Observation, error) {
	for !r.drained {
		a, err := r.next()
		if err == nil {
			r.agg.add(&a)
			continue
		}
		if ie := portolan.RecordError(err); ie != nil {
			return nil, ie
		}
		r.drained = true
		r.err = err
		r.out = r.agg.observations()
		r.agg = aggregator{}
	}
	if len(r.out) > 0 {
		o := r.out[0]
		r.out[0] = nil
		r.out = r.out[1:]
		return o, nil
	}
	return nil, r.err
}

// UsedModTime reports whether the times of the observations read so far
// came from Options.ModTime because the file has none of its own.
func (r *Reader) UsedModTime() bool {
	return r.usedModTime
}
