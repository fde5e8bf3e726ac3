// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"fmt"
	"io"
)

// ObservationReader is what each scanner format's decoder implements: Read
// returns the next observation, io.EOF at the end of the input, an
// *InputError for a record that cannot be used (the caller reports it and
// reads on), and any other error when the input cannot be read further.
//
// Observations are returned as the scanner described them; the caller
// normalises them. A reader must never panic on any input and must keep its
// memory bounded by the size of one record (formats that spread one port over
// several records, like masscan's, may keep per-port state for one file).
type ObservationReader interface {
	Read() (*Observation, error)
}

// InputError is a record of the input that was rejected, with where it is.
// Line is 1-based (0 when unknown); Offset is the byte offset of the record
// (-1 when unknown).
type InputError struct {
	Line   int
	Offset int64
	Reason string
}

// Error implements the error interface: "line 12: reason" or
// "byte 4096: reason".
func (e *InputError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	case e.Offset >= 0:
		return fmt.Sprintf("byte %d: %s", e.Offset, e.Reason)
	}
	return e.Reason
}

// ReadAll drains r, returning the observations and the record errors. It is
// meant for tests and small inputs.
func ReadAll(r ObservationReader) ([]*Observation, []*InputError, error) {
	var obs []*Observation
	var bad []*InputError
	for {
		o, err := r.Read()
		if err == io.EOF {
			return obs, bad, nil
		}
		if ie, ok := err.(*InputError); ok {
			bad = append(bad, ie)
			continue
		}
		if err != nil {
			return obs, bad, err
		}
		obs = append(obs, o)
	}
}
