// SPDX-License-Identifier: Apache-2.0

package zmap

// Internal tests of the JSON decoder (style.md §3 allows them for lexers):
// it must accept exactly what encoding/json accepts, within its depth limit,
// and decode strings and integers to the same values.

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// agrees checks the decoder against encoding/json on data.
func agrees(t *testing.T, data []byte) {
	t.Helper()
	if !utf8.Valid(data) {
		return // the callers check UTF-8 before decoding
	}
	var d decoder
	d.maxDepth = 10000 // encoding/json's own limit
	d.reset(data)
	d.skip()
	d.end()
	if want := json.Valid(data); (d.err == nil) != want {
		t.Fatalf("%q: decoder error %v, encoding/json valid %v", data, d.err, want)
	}
	if d.err != nil {
		return
	}
	// Strings and integers decode alike.
	var s string
	if json.Unmarshal(data, &s) == nil {
		d.reset(data)
		if got := d.str(); d.err != nil || got != s {
			t.Fatalf("%q: str() = %q, %v; encoding/json %q", data, got, d.err, s)
		}
	}
	var n int64
	if json.Unmarshal(data, &n) == nil && strings.TrimSpace(string(data)) != "null" {
		d.reset(data)
		if got, ok := d.int(); !ok || got != n {
			t.Fatalf("%q: int() = %d, %v; encoding/json %d", data, got, d.err, n)
		}
	}
	// So do the keys of an object of strings.
	var m map[string]string
	if json.Unmarshal(data, &m) == nil {
		d.reset(data)
		got := map[string]string{}
		if d.object() {
			for d.next() {
				k := string(d.key)
				got[k] = d.str()
			}
		}
		if d.err != nil || len(got) != len(m) {
			t.Fatalf("%q: object %v, %v; encoding/json %v", data, got, d.err, m)
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
	var d decoder
	d.maxDepth = 3
	for _, c := range []struct {
		in string
		ok bool
	}{{`[[[]]]`, true}, {`[[[[]]]]`, false}, {`{"a":{"b":{"c":1}}}`, true}, {`{"a":{"b":{"c":{}}}}`, false}} {
		d.reset([]byte(c.in))
		d.skip()
		d.end()
		if (d.err == nil) != c.ok {
			t.Errorf("%s: %v", c.in, d.err)
		}
	}
}

func TestDecoderErrorOffset(t *testing.T) {
	var d decoder
	d.maxDepth = 10
	d.reset([]byte(`{"a": [1, 2,, 3]}`))
	d.skip()
	if e, ok := d.err.(*syntaxError); !ok || e.off != 12 {
		t.Errorf("error %v, want one at byte 12", d.err)
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
