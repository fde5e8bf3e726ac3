// SPDX-License-Identifier: Apache-2.0

// Package native reads Portolan's native format: newline-delimited JSON, one
// observation per line, with exactly the field names of intelligence.md §1
// (host, port, protocol, status, seenAt, scannedAt, source, scanProtocol,
// banner, components, certificate, hostnames). The certificate is base64 DER
// or a PEM string. It is the format other programs should emit.
package native

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"portolan"
)

// DefaultMaxLine is the longest line accepted: a 16 KiB banner, a
// certificate chain and their JSON escaping fit many times over.
const DefaultMaxLine = 4 << 20

// record mirrors one line of the format. Pointers tell a missing field
// from a zero one.
type record struct {
	Host         *string              `json:"host"`
	Port         *int                 `json:"port"`
	Protocol     string               `json:"protocol"`
	Status       *string              `json:"status"`
	SeenAt       string               `json:"seenAt"`
	ScannedAt    *string              `json:"scannedAt"`
	Source       *string              `json:"source"`
	ScanProtocol string               `json:"scanProtocol"`
	Banner       string               `json:"banner"`
	Components   []portolan.Component `json:"components"`
	Certificate  string               `json:"certificate"`
	Hostnames    []string             `json:"hostnames"`
}

// Reader reads observations from native NDJSON.
type Reader struct {
	r       *bufio.Reader
	maxLine int
	line    int
	offset  int64
	buf     []byte
	// lastLine is the line of the record Read returned last.
	lastLine int
}

var _ portolan.ObservationReader = (*Reader)(nil)

// NewReader returns a Reader of r. maxLine bounds a line (0: DefaultMaxLine).
func NewReader(r io.Reader, maxLine int) *Reader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), maxLine: maxLine}
}

// Sniff reports whether head (the first bytes of an input) starts with a
// JSON object that has the native format's required fields.
func Sniff(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	return bytes.Contains(line, []byte(`"scannedAt"`)) && bytes.Contains(line, []byte(`"host"`))
}

// readLine returns the next line without its end, or an *InputError for a
// line longer than maxLine (which is skipped).
func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	start := r.offset
	tooLong := false
	for {
		chunk, err := r.r.ReadSlice('\n')
		r.offset += int64(len(chunk))
		if !tooLong {
			if len(r.buf)+len(chunk) > r.maxLine {
				tooLong = true
				r.buf = r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(chunk) == 0 && len(r.buf) == 0 && !tooLong {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("byte %d: %w", r.offset, err)
		}
		r.line++
		if tooLong {
			return nil, &portolan.InputError{Line: r.line, Offset: start, Reason: fmt.Sprintf("line is longer than %d bytes", r.maxLine)}
		}
		return bytes.TrimRight(r.buf, "\r\n"), nil
	}
}

// Position returns the line of the observation Read returned last.
func (r *Reader) Position() (line int, offset int64) { return r.lastLine, -1 }

// Read implements portolan.ObservationReader.
func (r *Reader) Read() (*portolan.Observation, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		o, reason := decode(line)
		if reason != "" {
			return nil, &portolan.InputError{Line: r.line, Offset: -1, Reason: reason}
		}
		r.lastLine = r.line
		return o, nil
	}
}

// decode parses one line; a non-empty reason says why it is rejected.
func decode(line []byte) (*portolan.Observation, string) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, "not a valid observation: " + jsonReason(err)
	}
	if dec.More() {
		return nil, "more than one JSON value on the line"
	}
	switch {
	case rec.Host == nil:
		return nil, `field "host" is missing`
	case rec.Port == nil:
		return nil, `field "port" is missing`
	case rec.Status == nil:
		return nil, `field "status" is missing`
	case rec.ScannedAt == nil:
		return nil, `field "scannedAt" is missing`
	case rec.Source == nil:
		return nil, `field "source" is missing`
	}
	o := &portolan.Observation{
		Host: *rec.Host, Port: *rec.Port, Protocol: portolan.Protocol(rec.Protocol),
		Status: portolan.HostPortStatus(*rec.Status), Source: *rec.Source,
		ScanProtocol: rec.ScanProtocol, Banner: rec.Banner, Components: rec.Components, Hostnames: rec.Hostnames,
	}
	var err error
	if o.ScannedAt, err = time.Parse(time.RFC3339Nano, *rec.ScannedAt); err != nil {
		return nil, fmt.Sprintf("scannedAt %q is not an RFC 3339 instant", *rec.ScannedAt)
	}
	if rec.SeenAt != "" {
		if o.SeenAt, err = time.Parse(time.RFC3339Nano, rec.SeenAt); err != nil {
			return nil, fmt.Sprintf("seenAt %q is not an RFC 3339 instant", rec.SeenAt)
		}
	}
	if rec.Certificate != "" {
		if o.Certificate, err = decodeCertificate(rec.Certificate); err != nil {
			return nil, err.Error()
		}
	}
	return o, ""
}

// decodeCertificate accepts PEM or standard base64 DER.
func decodeCertificate(s string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "-----BEGIN") {
		der, err := portolan.DecodeCertificate([]byte(s))
		if err != nil {
			return nil, errors.New(portolan.ErrorMessage(err))
		}
		return der, nil
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("certificate is neither PEM nor base64 DER")
	}
	return der, nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("JSON syntax error at column %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s, not %s", te.Field, te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON object is truncated"
	}
	return err.Error()
}
