// SPDX-License-Identifier: Apache-2.0

package scan

import (
	"bufio"
	"io"

	"portolan"
)

// LineOptions configures a JSON-lines reader. The zero value uses the
// default limits.
type LineOptions struct {
	// MaxLineBytes bounds one line; 0 means DefaultMaxLineBytes. A longer
	// line is a record error.
	MaxLineBytes int
	// MaxDepth bounds JSON nesting; 0 means DefaultMaxDepth. A deeper line
	// is a record error.
	MaxDepth int
}

// Limits returns maxLineBytes and maxDepth with each one left at 0 (or
// less) set to its default: for a reader that checks or reports a limit
// itself, beside the LineReader and Decoder that default it alike.
func Limits(maxLineBytes, maxDepth int) (int, int) {
	if maxLineBytes <= 0 {
		maxLineBytes = DefaultMaxLineBytes
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	return maxLineBytes, maxDepth
}

// ObservationLines reads a JSON-lines format in which each line yields its
// observations by itself (httpx, naabu, Shodan): Records of observations,
// which such a reader's package names its Reader. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type ObservationLines struct {
	recs *Records[*portolan.Observation]
}

var _ portolan.ObservationReader = (*ObservationLines)(nil)

// NewObservationLines returns the ObservationLines of r, whose lines fn
// decodes; source is the format, as Records' name. Nothing is read before
// the first Read.
func NewObservationLines(source string, r io.Reader, opts LineOptions, fn LineFunc[*portolan.Observation]) *ObservationLines {
	lr := NewLineReader(bufio.NewReaderSize(r, BufferSize), opts.MaxLineBytes)
	return &ObservationLines{recs: NewRecords(source, lr, opts.MaxDepth, fn)}
}

// Read returns the next observation; io.EOF at the end; a
// *portolan.InputError for a line, or part of one, that cannot be used,
// after which the caller reads on; and the underlying reader's error,
// wrapped, when the input cannot be read further.
func (r *ObservationLines) Read() (*portolan.Observation, error) { return r.recs.Read() }
