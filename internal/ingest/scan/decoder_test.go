// SPDX-License-Identifier: Apache-2.0

package scan_test

// The JSON decoder must accept exactly what encoding/json accepts, within
// its depth limit, and decode strings and integers to the same values.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"portolan/internal/ingest/scan"
)

// agrees checks the decoder against encoding/json on data.
func agrees(t *testing.T, data []byte) {
	t.Helper()
	if !utf8.Valid(data) {
		return // the callers check UTF-8 before decoding
	}
	d := scan.Decoder{MaxDepth: 10000} // encoding/json's own limit
	d.Reset(data)
	d.Skip()
	d.End()
	if want := json.Valid(data); (d.Err() == nil) != want {
		t.Fatalf("%q: decoder error %v, encoding/json valid %v", data, d.Err(), want)
	}
	if d.Err() != nil {
		return
	}
	// Strings and integers decode alike.
	var s string
	if json.Unmarshal(data, &s) == nil {
		d.Reset(data)
		if got := d.Str(); d.Err() != nil || got != s {
			t.Fatalf("%q: Str() = %q, %v; encoding/json %q", data, got, d.Err(), s)
		}
	}
	var n int64
	if json.Unmarshal(data, &n) == nil && strings.TrimSpace(string(data)) != "null" {
		d.Reset(data)
		if got, ok := d.Int(); !ok || got != n {
			t.Fatalf("%q: Int() = %d, %v; encoding/json %d", data, got, d.Err(), n)
		}
	}
	var b bool
	if json.Unmarshal(data, &b) == nil && strings.TrimSpace(string(data)) != "null" {
		d.Reset(data)
		if got, ok := d.Bool(); !ok || got != b {
			t.Fatalf("%q: Bool() = %v, %v; encoding/json %v", data, got, d.Err(), b)
		}
	}
	var raw json.RawMessage
	if json.Unmarshal(data, &raw) == nil && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		d.Reset(data)
		if got := d.Number(); d.Err() != nil || string(got) != string(raw) {
			t.Fatalf("%q: Number() = %q, %v; encoding/json %q", data, got, d.Err(), raw)
		}
	}
	// So do the keys of an object of strings.
	var m map[string]string
	if json.Unmarshal(data, &m) == nil {
		d.Reset(data)
		got := map[string]string{}
		if d.Object() {
			for d.Next() {
				k := string(d.Key())
				got[k] = d.Str()
			}
		}
		if d.Err() != nil || len(got) != len(m) {
			t.Fatalf("%q: object %v, %v; encoding/json %v", data, got, d.Err(), m)
		}
		for k, v := range m {
			if got[k] != v {
				t.Fatalf("%q: key %q = %q; encoding/json %q", data, k, got[k], v)
			}
		}
	}
}

var jsonCases = []string{
	`null`, `true`, `false`, `0`, `-0`, `12`, `-12.5e+3`, `1E9`, `0.1`, `01`, `-`, `1.`, `.1`, `1e`, `+1`, `nul`, `truex`,
	`""`, `"a"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u20AC"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`, `"\ud83d\u0041"`,
	`"\x"`, `"\u12"`, `"\u12g4"`, `"a` + "\n" + `"`, `"a` + "\x01" + `"`, `"unterminated`, `"a\"`, `"a\\"`, `"a\\\"b"`,
	`{}`, `[]`, `{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":1 "b":2}`, `{"a":}`, `{"a"}`, `{1:2}`, `{"a":1`,
	`[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[1,,2]`, `[`, `]`, `[[[]]]`, `[{"a":[{"b":"\u0041"}]}]`, `{"a":{},"b":[]}`,
	` { "k" : [ 1 , "x" , null , true ] } `, `{"a":1}x`, `1 2`, `{"é":"\u00e9","\u0041":"b"}`, `{"a":"x","a":"y"}`,
	`{"a":"\"}"}`, `["\\"]`, `"` + strings.Repeat(`\\`, 5) + `"`, `9223372036854775807`, `9223372036854775808`, `1.5`,
}

func TestDecoderAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range jsonCases {
		agrees(t, []byte(c))
	}
}

func TestDecoderDepth(t *testing.T) {
	d := scan.Decoder{MaxDepth: 3}
	for _, c := range []struct {
		in string
		ok bool
	}{{`[[[]]]`, true}, {`[[[[]]]]`, false}, {`{"a":{"b":{"c":1}}}`, true}, {`{"a":{"b":{"c":{}}}}`, false}} {
		d.Reset([]byte(c.in))
		d.Skip()
		d.End()
		if (d.Err() == nil) != c.ok {
			t.Errorf("%s: %v", c.in, d.Err())
		}
	}
}

func TestDecoderErrorOffset(t *testing.T) {
	d := scan.Decoder{MaxDepth: 10}
	d.Reset([]byte(`{"a": [1, 2,, 3]}`))
	d.Skip()
	var e *scan.SyntaxError
	if !errors.As(d.Err(), &e) || e.Offset != 12 {
		t.Errorf("error %v, want one at byte 12", d.Err())
	}
}

func FuzzDecoder(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agrees(t, data)
	})
}

// TestDecoderErrors checks the messages and offsets of the errors a caller
// records about values of the wrong kind.
func TestDecoderErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		read func(d *scan.Decoder)
		want string // "" for no error
	}{
		{`{"a":1}`, func(d *scan.Decoder) { d.Object(); d.Next(); d.Str() }, `"a" must be a string (byte 5)`},
		{` 1`, func(d *scan.Decoder) { d.Str() }, `the record must be a string (byte 1)`},
		{`{"a":`, func(d *scan.Decoder) { d.Object(); d.Next(); d.Int() }, `invalid JSON: the record ends where a value should be (byte 5)`},
		{`{"a":x}`, func(d *scan.Decoder) { d.Object(); d.Next(); d.Skip() }, `invalid JSON: want a value (byte 5)`},
		{`{"a":1.5}`, func(d *scan.Decoder) { d.Object(); d.Next(); d.Int() }, `"a" must be an integer (byte 5)`},
		{`{"a": 7}`, func(d *scan.Decoder) {
			d.Object()
			d.Next()
			off := d.Offset()
			if n, ok := d.Int(); ok && n > 1 {
				d.WantAt(off, "1 or 0")
			}
		}, `"a" must be 1 or 0 (byte 6)`},
		{`{"a":{}}`, func(d *scan.Decoder) {
			d.Object()
			d.Next()
			if !d.Array() {
				d.Reword("want a list")
			}
		}, `want a list (byte 5)`},
		{`{"a":null}`, func(d *scan.Decoder) {
			d.Object()
			d.Next()
			if !d.Array() {
				d.Reword("want a list") // null: no error to reword
			}
		}, ``},
		{`{"a":"x"}`, func(d *scan.Decoder) { d.Object(); d.Next(); d.Bool() }, `"a" must be a boolean (byte 5)`},
		{`{"a":tru}`, func(d *scan.Decoder) { d.Object(); d.Next(); d.Bool() }, `invalid JSON: want a value (byte 5)`},
		{`{"a":"1"}`, func(d *scan.Decoder) { d.Object(); d.Next(); d.Number() }, `"a" must be a number (byte 5)`},
		{`[[1]]`, func(d *scan.Decoder) { d.MaxDepth = 1; d.Skip() }, `the record nests deeper than 1 levels (byte 1)`},
		{`{} {}`, func(d *scan.Decoder) { d.Skip(); d.End() }, `invalid JSON: unexpected data after the record (byte 3)`},
	} {
		var d scan.Decoder
		d.Reset([]byte(c.in))
		c.read(&d)
		got := ""
		if err := d.Err(); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s: error %q, want %q", c.in, got, c.want)
		}
	}
}

// TestDecoderZeroValue checks that the zero Decoder uses DefaultMaxDepth.
func TestDecoderZeroValue(t *testing.T) {
	var d scan.Decoder
	for depth, ok := range map[int]bool{scan.DefaultMaxDepth: true, scan.DefaultMaxDepth + 1: false} {
		d.Reset([]byte(strings.Repeat("[", depth) + strings.Repeat("]", depth)))
		d.Skip()
		d.End()
		if (d.Err() == nil) != ok {
			t.Errorf("depth %d: %v", depth, d.Err())
		}
	}
}

// TestDecoderValues reads one record of every kind of value.
func TestDecoderValues(t *testing.T) {
	var d scan.Decoder
	d.Reset([]byte(`{"s":"a\u00e9","b":[true,false,null],"n":-1.5e3,"i":42,"p":null,"q":7,"x":{"y":[1,{}]}}`))
	var s, n string
	var bools []string
	var i int64
	var p, q *int
	if !d.Object() {
		t.Fatal("no object")
	}
	for d.Next() {
		switch string(d.Key()) {
		case "s":
			s = d.Str()
		case "b":
			for d.Array(); d.Elem(); {
				v, ok := d.Bool()
				bools = append(bools, fmt.Sprint(v, ok))
			}
		case "n":
			n = string(d.Number())
		case "i":
			i, _ = d.Int()
		case "p":
			p = d.IntPtr()
		case "q":
			q = d.IntPtr()
		default:
			d.Skip()
		}
	}
	d.End()
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	if s != "aé" || n != "-1.5e3" || i != 42 || p != nil || q == nil || *q != 7 ||
		strings.Join(bools, " ") != "true true false true false false" {
		t.Errorf("s %q n %q i %d p %v q %v bools %v", s, n, i, p, q, bools)
	}
}
