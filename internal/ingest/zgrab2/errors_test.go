// SPDX-License-Identifier: Apache-2.0

package zgrab2_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/ingest/zgrab2"
)

type badRecord struct {
	line   int
	reason string
}

func (b badRecord) String() string { return fmt.Sprintf("line %d: …%s…", b.line, b.reason) }

const (
	ok80  = `{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success","protocol":"http","timestamp":"2026-01-02T03:04:05Z","result":{}}}}`
	ok443 = `{"ip":"192.0.2.1","port":443,"data":{"tls":{"status":"success","protocol":"tls","timestamp":"2026-01-02T03:04:05Z","result":{}}}}`
)

// TestBadInput feeds broken lines between good ones: each problem is a
// record error with its line, and the lines around it are still read.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		opts  zgrab2.Options
		input string
		ports []int
		bad   []badRecord
	}{
		{name: "empty", input: ""},
		{name: "blank lines", input: "\n" + ok80 + "\n\n\r\n" + ok443, ports: []int{80, 443}},
		{name: "truncated last line", input: ok80 + "\n" + ok443[:50], ports: []int{80}, bad: []badRecord{{2, "invalid JSON: the record ends inside a string (byte 50)"}}},
		{name: "invalid UTF-8", input: ok80 + "\n" + strings.Replace(ok443, "192.0.2.1", "192.0.2.\xff", 1) + "\n" + ok443 + "\n",
			ports: []int{80, 443}, bad: []badRecord{{2, "not valid UTF-8"}}},
		{name: "not JSON", input: "Error: no blocklist\n" + ok80, ports: []int{80}, bad: []badRecord{{1, "invalid JSON: want a value (byte 0)"}}},
		{name: "not an object", input: "[1]\nnull\n" + ok80 + " x\n" + ok80, ports: []int{80}, bad: []badRecord{{1, "the record must be an object"}, {2, "the record must be an object"}, {3, "unexpected data after the record"}}},
		{name: "wrong type", input: `{"ip":"192.0.2.1","port":"80","data":{}}` + "\n" + `{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":{"response":{"status_line":200}}}}}` + "\n" + ok80,
			ports: []int{80}, bad: []badRecord{{1, `"port" must be a number (byte 25)`}, {2, `"status_line" must be a string`}}},
		{name: "missing fields", input: strings.Join([]string{
			`{"port":80,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z"}}}`,
			`{"ip":"192.0.2.1","port":80}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success"}}}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":{"timestamp":"2026-01-02T03:04:05Z"}}}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success","timestamp":"yesterday"}}}`,
			`{"ip":"192.0.2.1","port":80,"data":{"http":null}}`,
			`{"ip":"192.0.2.1","data":{"tls":{"status":"success","timestamp":"2026-01-02T03:04:05Z"}}}`,
			ok443,
		}, "\n"), ports: []int{443}, bad: []badRecord{
			{1, "neither ip nor domain"}, {2, "no module results"}, {3, `module "http": the result has no timestamp`},
			{4, "no status"}, {5, `timestamp "yesterday" is not RFC 3339`}, {6, "null"}, {7, "pass --port"},
		}},
		{name: "one bad module among good ones", input: `{"ip":"192.0.2.1","port":80,"data":{"a":{"status":"success","timestamp":"2026-01-02T03:04:05Z"},"b":{"status":"success"},"c":{"status":"success","timestamp":"2026-01-02T03:04:05Z"}}}`,
			ports: []int{80, 80}, bad: []badRecord{{1, `module "b"`}}},
		{name: "name did not resolve", input: `{"domain":"nx.example.org","data":{"http":{"status":"unknown-error","timestamp":"2026-01-02T03:04:05Z","error":"lookup nx.example.org: no such host"}}}` + "\n" + ok80,
			ports: []int{80}, bad: []badRecord{{1, "did not resolve"}}},
		{name: "enormous line", opts: zgrab2.Options{MaxLineBytes: 1000},
			input: ok80 + "\n" + `{"ip":"192.0.2.1","port":81,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":{"response":{"body":"` + strings.Repeat("A", 300_000) + `"}}}}}` + "\n" + ok443 + "\n",
			ports: []int{80, 443}, bad: []badRecord{{2, "longer than 1000 bytes"}}},
		{name: "deeply nested", input: ok80 + "\n" + `{"ip":"192.0.2.1","port":81,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":` + strings.Repeat(`{"x":`, 70) + "1" + strings.Repeat("}", 70) + "}}}\n" + ok443,
			ports: []int{80, 443}, bad: []badRecord{{2, "deeper than 64 levels"}}},
		{name: "nesting within the limit", input: `{"ip":"192.0.2.1","port":81,"data":{"http":{"status":"success","timestamp":"2026-01-02T03:04:05Z","result":{"x":` + strings.Repeat(`["\"]{",`, 55) + "1" + strings.Repeat("]", 55) + "}}}}\n",
			ports: []int{81}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs, bad, err := portolan.ReadAll(zgrab2.NewReader(strings.NewReader(tc.input), tc.opts))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			var ports []int
			for _, o := range obs {
				ports = append(ports, o.Port)
			}
			if diff := cmp.Diff(tc.ports, ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			if len(bad) != len(tc.bad) {
				t.Fatalf("record errors %v, want %v", bad, tc.bad)
			}
			for i, b := range bad {
				if b.Line != tc.bad[i].line || !strings.Contains(b.Reason, tc.bad[i].reason) || b.Offset < 0 {
					t.Errorf("record error %d: %v (offset %d), want %v", i, b, b.Offset, tc.bad[i])
				}
			}
		})
	}
}

func TestOffsets(t *testing.T) {
	input := ok80 + "\n" + "{bad\n"
	_, bad, _ := portolan.ReadAll(zgrab2.NewReader(strings.NewReader(input), zgrab2.Options{}))
	if len(bad) != 1 || bad[0].Offset != int64(len(ok80)+1) {
		t.Errorf("record errors %v, want one at byte %d", bad, len(ok80)+1)
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := zgrab2.NewReader(io.MultiReader(strings.NewReader(ok80+"\n"), iotest.ErrReader(boom)), zgrab2.Options{})
	obs, bad, err := portolan.ReadAll(r)
	if !errors.Is(err, boom) || len(bad) != 0 || len(obs) != 1 {
		t.Errorf("observations %v, record errors %v, error %v; want port 80 then %v", obs, bad, err, boom)
	}
	if _, err := r.Read(); !errors.Is(err, boom) {
		t.Errorf("the error does not stick: %v", err)
	}
}
