// SPDX-License-Identifier: Apache-2.0

package native_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"portolan"
	"portolan/internal/ingest/native"
	"portolan/internal/ingest/scan"
)

// The reader this package had before it was built on package scan decoded
// each line with encoding/json. It is kept here as the reference the new
// one is compared with (TestMatchesTheEncodingJSONReader, FuzzReader), with
// the differences made on purpose applied to it: lines are split as
// scan.LineReader splits them (the limit does not count the line ending),
// a line that is not valid UTF-8 is rejected rather than decoded with
// U+FFFD, and nothing but white space may follow the JSON value (Decoder.More
// let a "}" or "]" through).

// refRecord mirrors one line of the format. Pointers tell a missing field
// from a zero one.
type refRecord struct {
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

// refResult is what a reader returned for one line.
type refResult struct {
	line   int
	obs    *portolan.Observation
	reason string
}

// refRead reads in as the encoding/json reader did, with the differences
// above.
func refRead(in []byte, maxLine int) ([]refResult, error) {
	lr := scan.NewLineReader(bufio.NewReaderSize(bytes.NewReader(in), scan.BufferSize), maxLine)
	var out []refResult
	for {
		line, tooLong, err := lr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch {
		case tooLong:
			out = append(out, refResult{line: lr.Line(), reason: fmt.Sprintf("the line is longer than %d bytes", maxLine)})
		case scan.IsBlank(line):
		case !utf8.Valid(line):
			out = append(out, refResult{line: lr.Line(), reason: "the record is not valid UTF-8, which JSON requires"})
		default:
			o, reason := refDecode(line)
			out = append(out, refResult{line: lr.Line(), obs: o, reason: reason})
		}
	}
}

// refDecode is the encoding/json decoding of one line.
func refDecode(line []byte) (*portolan.Observation, string) {
	var rec refRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, "not a valid observation: " + refJSONReason(err)
	}
	if rest := bytes.Trim(line[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		if rest[0] == '}' || rest[0] == ']' {
			return nil, fmt.Sprintf("not a valid observation: invalid JSON: %q after the object", rest[0])
		}
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
		if o.Certificate, err = refDecodeCertificate(rec.Certificate); err != nil {
			return nil, err.Error()
		}
	}
	return o, ""
}

func refDecodeCertificate(s string) ([]byte, error) {
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

func refJSONReason(err error) string {
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

// readResults reads in with the native reader.
func readResults(in []byte, maxLine int) ([]refResult, error) {
	r := native.NewReader(bytes.NewReader(in), maxLine)
	var out []refResult
	for {
		o, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		switch ie := portolan.RecordError(err); {
		case ie != nil:
			out = append(out, refResult{line: ie.Line, reason: ie.Reason})
		case err != nil:
			return out, err
		default:
			line, _ := r.Position()
			out = append(out, refResult{line: line, obs: o})
		}
		if len(out) > len(in)+1 {
			return out, errors.New("more records than lines")
		}
	}
}

// reasonClass sorts a rejection reason for comparison: the wording of a
// syntax error, and of the top-level type error, changed; every other
// reason must be the same.
func reasonClass(reason string) string {
	switch {
	case strings.HasSuffix(reason, "after the object"):
		return reason
	case strings.Contains(reason, "JSON syntax error"), strings.Contains(reason, "invalid JSON"),
		strings.Contains(reason, "truncated"), strings.Contains(reason, "nests deeper than"):
		return "syntax"
	case strings.HasPrefix(reason, `not a valid observation: field "" must be`),
		strings.HasPrefix(reason, "not a valid observation: the line must be a JSON object"):
		return "not an object"
	case strings.HasPrefix(reason, "more than one JSON value"):
		return "trailing data"
	}
	return reason
}

// compareWithReference checks that the native reader reads in as the
// reference does.
func compareWithReference(t *testing.T, in []byte, maxLine int) {
	t.Helper()
	want, werr := refRead(in, maxLine)
	got, gerr := readResults(in, maxLine)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("reference error %v, reader error %v", werr, gerr)
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, reference %d:\n got  %s\n want %s", len(got), len(want), results(got), results(want))
	}
	for i, w := range want {
		g := got[i]
		if g.line != w.line {
			t.Fatalf("result %d at line %d, reference at line %d", i+1, g.line, w.line)
		}
		switch {
		case w.obs == nil && g.obs == nil:
			wc, gc := reasonClass(w.reason), reasonClass(g.reason)
			if wc == gc {
				continue
			}
			// The scan decoder limits nesting to 64 levels, encoding/json to
			// 10000: deeper values are in places that are errors anyway, only
			// reported differently.
			if gc == "syntax" && strings.Contains(g.reason, "nests deeper than") {
				continue
			}
			t.Errorf("line %d rejected with %q, reference %q", w.line, g.reason, w.reason)
		case w.obs == nil:
			t.Errorf("line %d accepted, reference rejects it: %q", w.line, w.reason)
		case g.obs == nil:
			t.Errorf("line %d rejected with %q, reference accepts it: %+v", w.line, g.reason, *w.obs)
		default:
			if msg := diffObservations(g.obs, w.obs); msg != "" {
				t.Errorf("line %d: %s", w.line, msg)
			}
		}
	}
}

// diffObservations describes how a differs from b, "" if it does not:
// times must be the same instant in the same zone, slices the same,
// nil or empty alike.
func diffObservations(a, b *portolan.Observation) string {
	sameTime := func(x, y time.Time) bool {
		xn, xo := x.Zone()
		yn, yo := y.Zone()
		return x.Equal(y) && xn == yn && xo == yo && x.Location().String() == y.Location().String()
	}
	if !sameTime(a.SeenAt, b.SeenAt) || !sameTime(a.ScannedAt, b.ScannedAt) {
		return fmt.Sprintf("times %s %s, reference %s %s", a.SeenAt, a.ScannedAt, b.SeenAt, b.ScannedAt)
	}
	ac, bc := *a, *b
	ac.SeenAt, ac.ScannedAt, bc.SeenAt, bc.ScannedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(ac, bc) {
		return fmt.Sprintf("observation %#v, reference %#v", ac, bc)
	}
	return ""
}

func results(rs []refResult) string {
	var b strings.Builder
	for _, r := range rs {
		if r.obs != nil {
			fmt.Fprintf(&b, "[%d ok] ", r.line)
		} else {
			fmt.Fprintf(&b, "[%d %s] ", r.line, r.reason)
		}
	}
	return b.String()
}

// referenceLines are lines on which the reader and the reference could
// disagree: null, duplicate and case-folded keys, values of every wrong
// type, times and certificates in every form, and broken JSON.
var referenceLines = []string{
	`{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"192.0.2.1","port":80,"protocol":"udp","status":"open","seenAt":"2026-01-01T00:00:00.5Z","scannedAt":"2026-01-01T00:00:01.123456789Z","source":"x","scanProtocol":"ssh","banner":"SSH-2.0-x\r\n","components":[{"name":"OpenSSH","version":"9.2p1","category":"Remote Access"},{"name":"Debian","version":"","category":"Operating System"}],"hostnames":["a.test","b.test"]}`,
	`null`,
	`{}`,
	` { "host" : "h" , "port" : 1 , "status" : "open" , "scannedAt" : "2026-01-01T00:00:00Z" , "source" : "x" } `,
	"\t{\"host\":\"h\",\"port\":1,\"status\":\"open\",\"scannedAt\":\"2026-01-01T00:00:00Z\",\"source\":\"x\"}\r",
	// Keys: escaped, case-folded (with a long s and a Kelvin sign), unknown, duplicated.
	`{"h\u006fst":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"HOST":"h","Port":1,"STATUS":"open","SCANNEDAT":"2026-01-01T00:00:00Z","ſource":"x","componentS":[{"NAME":"n","ſ":1}]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","\u212a":1}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","prot":"tcp"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","x":{"deep":[1,{"a":null}]}}`,
	`{"host":"a","host":"b","port":1,"port":2,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"a","host":null,"port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"a","port":1,"port":null,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"a","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","scannedAt":null,"source":"x"}`,
	`{"host":"a","port":1,"status":null,"scannedAt":"2026-01-01T00:00:00Z","source":null}`,
	// null and "" in the optional fields.
	`{"host":"h","port":1,"protocol":"tcp","protocol":null,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","banner":"b","banner":null,"scanProtocol":null}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","seenAt":"bad","seenAt":null}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","seenAt":"bad","seenAt":""}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","seenAt":null,"certificate":null,"components":null,"hostnames":null}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":[],"hostnames":[]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":[null,{},{"name":null}],"hostnames":[null,"a"]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":[{"name":"a","version":"1"},{"name":"b"}],"components":[{"name":"c"}]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":[{"name":"a","version":"1"},{"name":"b","version":"2"}],"components":[{"name":"c"}],"components":[{"name":"d"},{"category":"e"}]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","hostnames":["a","b"],"hostnames":["c"],"hostnames":["d",null],"components":[],"components":[null]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"%%%","certificate":""}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"MAMCAQE=","certificate":null}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"\n"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"  -----BEGIN X-----\nAAAA\n-----END X-----\n"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"-----BEGIN"}`,
	// Wrong types, in every field and in the lists.
	`{"host":1,"port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":"80","status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":1.5,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":1e2,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":-0,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":99999999999999999999,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":true,"status":[],"scannedAt":{},"source":false}`,
	`{"host":"h","port":1,"status":"open","scannedAt":1,"source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","seenAt":false}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","banner":{}}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":{}}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":["x"]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":[{"name":1}]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","components":[{"nam":"x"}]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","hostnames":"a"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","hostnames":[1]}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":5}`,
	`{"x":1,"host":2}`,
	`{"host":2,"x":1}`,
	`{"host":2,"port":"x","status":"open"`,
	`["host"]`,
	`"host"`,
	`42`,
	`true`,
	// Times.
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-11-27T12:11:00+01:00","source":"x","seenAt":"2026-11-27T12:11:00.5-07:30"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2024-02-29T23:59:59.1234567891234Z","source":"x","seenAt":"0000-01-01T00:00:00Z"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2023-02-29T00:00:00Z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T24:00:00Z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:60Z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00,5Z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00.Z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01t00:00:00z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-1-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"+026-01-01T00:00:00Z","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"yesterday","source":"x"}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00\u005a","source":"x"}`,
	// One value per line.
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"} {}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}}`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"} ]`,
	`{"host":"h","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"},`,
	`{"port":1} x`,
	`{"host":1} x`,
	`null null`,
	// Broken JSON.
	`{"host":`,
	`{"host":"h`,
	`{"host":"h"`,
	`{"host":"h",`,
	`{"host"`,
	`{`,
	`{"host":tru`,
	`{"host":"h","port":-`,
	`{"host":"h","port":1.`,
	`{"host":"h","port":01}`,
	`{"host":"h\q"}`,
	`{"host":"h\u12"}`,
	"{\"host\":\"h\x01\"}",
	"{\"host\":\"h\",\"port\":1\x00}",
	`{"host":"h",}`,
	`{,"host":"h"}`,
	`{"host" "h"}`,
	`{"host":"h" "port":1}`,
	`{"components":[1,]}`,
	`{"components":[,1]}`,
	`{"components":[1 2]}`,
	"\ufeff{}",
	`{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"host":"\ud800","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","banner":"\ud83d\ude00\u00e9\\\/\b\f\n\r\t"}`,
}

// TestMatchesTheEncodingJSONReader checks the reader against the reference
// on referenceLines, each alone, and all together.
func TestMatchesTheEncodingJSONReader(t *testing.T) {
	for _, line := range referenceLines {
		compareWithReference(t, []byte(line+"\n"), 1024)
		compareWithReference(t, []byte(line), 1024)
		compareWithReference(t, []byte(line+"\r\n"), 1024)
	}
	compareWithReference(t, []byte(strings.Join(referenceLines, "\n")), 1024)
}
