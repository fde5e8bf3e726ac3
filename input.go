// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"errors"
	"io"
	"strconv"
)

// ObservationReader is what each scanner format's decoder implements: Read
// returns the next observation, io.EOF at the end of the input, an
// *InputError for a record that cannot be used (the caller reports it and
// reads on), and an *InputError with Fatal set, or the underlying reader's
// error wrapped, when the input cannot be read further. RecordError tells
// the two kinds of *InputError apart.
//
// Observations are returned as the scanner described them; the caller
// normalises them. A reader must never panic on any input and must keep its
// memory bounded by the size of one record (formats that spread one port over
// several records, like masscan's, may keep per-port state for one file).
type ObservationReader interface {
	Read() (*Observation, error)
}

// InputError is a part of an input that could not be used, with where it
// is: a rejected record, after which reading goes on, or, with Fatal set, the
// point past which the input cannot be read (malformed XML, a file that is
// not what its reader reads). It is the one positioned error of every
// reader and of the ingest pipeline, which names the file.
type InputError struct {
	// File names the input; readers leave it empty, and the ingest
	// pipeline sets it on the rejections it reports.
	File string
	// Source is the format whose reader raised the error ("nmap"), the
	// same name as Observation.Source.
	Source string
	// Line is 1-based, 0 when unknown.
	Line int
	// Offset is the byte offset of the record or construct, -1 when
	// unknown.
	Offset int64
	// Reason says what is wrong, for a person.
	Reason string
	// Fatal reports that reading cannot go on past this point.
	Fatal bool
}

// Error implements the error interface. With File set it reads as the
// command line prints a rejection, "scan.xml:12: reason" (or "scan.xml: byte
// 4096: reason"); without, the reader's name leads, "nmap: line 12: reason"
// (or "nmap: byte 4096: reason").
func (e *InputError) Error() string {
	b := make([]byte, 0, len(e.File)+len(e.Source)+len(e.Reason)+32)
	switch {
	case e.File != "" && e.Line > 0:
		// The compiler's file:line form, which editors jump to.
		b = append(b, e.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(e.Line), 10)
		b = append(b, ": "...)
	case e.File != "":
		b = append(append(b, e.File...), ": "...)
		b = e.appendPos(b)
	default:
		if e.Source != "" {
			b = append(append(b, e.Source...), ": "...)
		}
		b = e.appendPos(b)
	}
	return string(append(b, e.Reason...))
}

// appendPos appends "line N: " or "byte N: ", or nothing when both are
// unknown.
func (e *InputError) appendPos(b []byte) []byte {
	switch {
	case e.Line > 0:
		b = strconv.AppendInt(append(b, "line "...), int64(e.Line), 10)
	case e.Offset >= 0:
		b = strconv.AppendInt(append(b, "byte "...), e.Offset, 10)
	default:
		return b
	}
	return append(b, ": "...)
}

// RecordError returns err as an *InputError when it rejects one record and
// reading may go on, and nil for anything else: nil, io.EOF, an *InputError
// with Fatal set, or another error. Every caller of an ObservationReader
// asks it, so that an error that ends the input is never taken for one
// record and read past.
func RecordError(err error) *InputError {
	var ie *InputError
	if errors.As(err, &ie) && !ie.Fatal {
		return ie
	}
	return nil
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
		if ie := RecordError(err); ie != nil {
			bad = append(bad, ie)
			continue
		}
		if err != nil {
			return obs, bad, err
		}
		obs = append(obs, o)
	}
}
