// SPDX-License-Identifier: Apache-2.0

package scan

import (
	"fmt"
	"io"
	"unicode/utf8"

	"portolan"
)

// Records is the record loop of a JSON-lines reader: it reads lines with a
// LineReader, skips blank ones, rejects those that are too long or not
// UTF-8, and hands each other line to a LineFunc, with a Decoder reset to
// it, to decode and to queue what the line yields: values of type T (an
// observation, or a record an aggregator takes) and record errors, returned
// by Read in the order they were queued. It is not safe for concurrent use.
type Records[T any] struct {
	name  string // the format: the Source of record errors, the prefix of read errors
	lr    *LineReader
	dec   Decoder
	fn    LineFunc[T]
	queue []result[T]  // what the last line yielded
	head  int          // the index in queue of the next result to return
	one   [1]result[T] // the first backing array of queue, enough for most lines
	err   error        // sticky: io.EOF or the error that ended the input
}

// LineFunc decodes one line of a JSON-lines format with d, already reset to
// the line, and queues what the line yields with rs.Emit and rs.Reject: a
// line that does not decode is rejected with d.Err(). The line is valid
// UTF-8, not blank, and no longer than the LineReader's maximum.
type LineFunc[T any] func(rs *Records[T], d *Decoder)

// result is a value, or the record error in its place.
type result[T any] struct {
	v   T
	err *portolan.InputError
}

// maxKeptQueue is the capacity beyond which an emptied queue is let go
// rather than kept for the rest of the input (one /shodan/host line may
// yield thousands of banners).
const maxKeptQueue = 256

// NewRecords returns the Records of the lines of lr, which fn decodes with
// a Decoder nesting at most maxDepth deep (0 means DefaultMaxDepth). name,
// the format ("shodan"), is the Source of the record errors and prefixes the
// errors of the underlying reader: "shodan: read at byte N: …". Nothing is read before the first Read.
func NewRecords[T any](name string, lr *LineReader, maxDepth int, fn LineFunc[T]) *Records[T] {
	rs := &Records[T]{name: name, lr: lr, dec: Decoder{MaxDepth: maxDepth}, fn: fn}
	rs.queue = rs.one[:0] // most lines yield one result: no allocation for them
	return rs
}

// Read returns the next value; io.EOF at the end; a *portolan.InputError
// for a line, or part of one, that cannot be used, after which the caller
// reads on; and the underlying reader's error, wrapped with the name and
// the byte offset where it failed, when the input cannot be read further.
// io.EOF and that error are returned again by every later call.
func (rs *Records[T]) Read() (T, error) {
	for rs.head == len(rs.queue) {
		if cap(rs.queue) > maxKeptQueue {
			rs.queue = rs.one[:0]
		}
		rs.queue, rs.head = rs.queue[:0], 0
		if rs.err != nil {
			var zero T
			return zero, rs.err
		}
		rs.readLine()
	}
	it := rs.queue[rs.head]
	rs.queue[rs.head] = result[T]{} // let the caller own it alone
	rs.head++
	if it.err != nil {
		return it.v, it.err
	}
	return it.v, nil
}

// Emit queues v as a value of the current line. It is for the LineFunc.
func (rs *Records[T]) Emit(v T) {
	rs.queue = append(rs.queue, result[T]{v: v})
}

// Reject queues a record error for the current line, at its number and
// byte offset, with the reason fmt.Sprintf(format, args...). It is for the
// LineFunc.
func (rs *Records[T]) Reject(format string, args ...any) {
	rs.queue = append(rs.queue, result[T]{err: &portolan.InputError{
		Source: rs.name, Line: rs.lr.Line(), Offset: rs.lr.Offset(), Reason: fmt.Sprintf(format, args...),
	}})
}

// readLine reads one line and queues what it yields, or sets rs.err.
func (rs *Records[T]) readLine() {
	line, tooLong, err := rs.lr.Read()
	switch {
	case err == io.EOF:
		rs.err = io.EOF
		return
	case err != nil:
		rs.err = fmt.Errorf("%s: read at byte %d: %w", rs.name, rs.lr.InputOffset(), err)
		return
	case tooLong:
		rs.Reject("the line is longer than %d bytes", rs.lr.max)
		return
	case IsBlank(line):
		return
	}
	if !utf8.Valid(line) {
		// RFC 8259 requires UTF-8: bytes that are not are damage, and
		// decoding them anyway (encoding/json's U+FFFD) would alter banners.
		rs.Reject("the record is not valid UTF-8, which JSON requires")
		return
	}
	rs.dec.Reset(line)
	rs.fn(rs, &rs.dec)
}
