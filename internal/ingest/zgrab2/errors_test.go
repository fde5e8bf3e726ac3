// SPDX-License-Identifier: Apache-2.0

package zgrab2_test

import (
	"strings"
	"testing"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/zgrab2"
)

const (
	ok80  = `{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success","protocol":"http","timestamp":"2026-01-02T03:04:05Z","result":{}}}}`
	ok443 = `{"ip":"192.0.2.1","port":443,"data":{"tls":{"status":"success","protocol":"tls","timestamp":"2026-01-02T03:04:05Z","result":{}}}}`
)

// TestBadInput feeds broken lines between good ones: each problem is a
// record error with its line, and the lines around it are still read.
func TestBadInput(t *testing.T) {
	cases := []ingesttest.BadInput[zgrab2.Options]{
		{Name: "empty", Input: ""},
		{Name: "blank lines", Input: "\n" + ok80 + "\n\n\r\n" + ok443, Ports: []int{80, 443}},
		{Name: "truncated last line", Input: ok80 + "\n" + ok443[:50], Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "invalid JSON: the record ends inside a string (byte 50)"}}},
		{Name: "invalid UTF-8", Input: ok80 + "\n" + strings.Replace(ok443, "192.0.2.1", "192.0.2.\xff", 1) + "\n" + ok443 + "\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "not valid UTF-8"}}},
		{Name: "not JSON", Input: "Error: no blocklist\n" + ok80, Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "invalid JSON: want a value (byte 0)"}}},
		{Name: "not an object", Input: "[1]\nnull\n" + ok80 + " x\n" + ok80, Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "the record must be an object"}, {Line: 2, Reason: "the record must be an object"}, {Line: 3, Reason: "unexpected data after the record"}}},
		{Name: "wrong type", Input: `{"ip":"192.0.2.1","port":"80","data":{}}` + "\n" + `{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":{"response":{"status_line":200}}}}}` + "\n" + ok80,
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `"port" must be a number (byte 25)`}, {Line: 2, Reason: `"status_line" must be a string`}}},
		{Name: "missing fields", Input: strings.Join([]string{
			`{"port":80,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z"}}}`,
			`{"ip":"192.0.2.1","port":80}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success"}}}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":{"timestamp":"2026-01-02T03:04:05Z"}}}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success","timestamp":"yesterday"}}}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":null}}`,
			`{"ip":"192.0.2.1","data":{"tls":{"status":"success","timestamp":"2026-01-02T03:04:05Z"}}}`,
			ok443,
		}, "\n"), Ports: []int{443}, Bad: []ingesttest.BadRecord{
			{Line: 1, Reason: "neither ip nor domain"}, {Line: 2, Reason: "no module results"}, {Line: 3, Reason: `module "http": the result has no timestamp`},
			{Line: 4, Reason: "no status"}, {Line: 5, Reason: `timestamp "yesterday" is not RFC 3339`}, {Line: 6, Reason: "null"}, {Line: 7, Reason: "pass --port"},
		}},
		{Name: "one bad module among good ones", Input: `{"ip":"192.0.2.1","port":80,"data":{"a":{"status":"success","timestamp":"2026-01-02T03:04:05Z"},"b":{"status":"success"},"c":{"status":"success","timestamp":"2026-01-02T03:04:05Z"}}}`,
			Ports: []int{80, 80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `module "b"`}}},
		{Name: "name did not resolve", Input: `{"domain":"nx.example.org","data":{"http":{"status":"unknown-error","timestamp":"2026-01-02T03:04:05Z","error":"lookup nx.example.org: no such host"}}}` + "\n" + ok80,
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "did not resolve"}}},
		{Name: "enormous line", Opts: zgrab2.Options{MaxLineBytes: 1000},
			Input: ok80 + "\n" + `{"ip":"192.0.2.1","port":81,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":{"response":{"body":"` + strings.Repeat("A", 300_000) + `"}}}}}` + "\n" + ok443 + "\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "longer than 1000 bytes"}}},
		{Name: "deeply nested", Input: ok80 + "\n" + `{"ip":"192.0.2.1","port":81,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":` + strings.Repeat(`{"x":`, 70) + "1" + strings.Repeat("}", 70) + "}}}\n" + ok443,
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "deeper than 64 levels"}}},
		{Name: "nesting within the limit", Input: `{"ip":"192.0.2.1","port":81,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":{"x":` + strings.Repeat(`["\"]{",`, 55) + "1" + strings.Repeat("]", 55) + "}}}}\n",
			Ports: []int{81}},
	}
	ingesttest.RunBadInput(t, zgrab2.NewReader, cases, nil)
}

func TestOffsets(t *testing.T) {
	input := ok80 + "\n" + "{bad\n"
	_, bad, _ := portolan.ReadAll(zgrab2.NewReader(strings.NewReader(input), zgrab2.Options{}))
	if len(bad) != 1 || bad[0].Offset != int64(len(ok80)+1) {
		t.Errorf("record errors %v, want one at byte %d", bad, len(ok80)+1)
	}
}

func TestReadError(t *testing.T) {
	ingesttest.CheckReadError(t, zgrab2.NewReader, zgrab2.Options{}, ok80+"\n", []int{80})
}
