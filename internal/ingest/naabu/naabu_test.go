// SPDX-License-Identifier: Apache-2.0

package naabu_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/naabu"
)

func newReader(r io.Reader, o naabu.Options) *naabu.Reader { return naabu.NewReader(r, o) }

// TestCaptureGolden reads naabu v2.3.5's own -json output (a connect scan
// of this machine's services, testdata/README.md): one open observation per
// port, without a service.
func TestCaptureGolden(t *testing.T) {
	data := ingesttest.ReadTestdata(t, "naabu_lab_2026-12-04.jsonl")
	if !naabu.Sniff(ingesttest.Head(data)) {
		t.Error("Sniff does not recognise the capture")
	}
	obs := ingesttest.MustReadAll(t, naabu.NewReader(bytes.NewReader(data), naabu.Options{}))
	var ports []int
	for _, o := range obs {
		if o.Status != "open" || o.Host != "127.0.0.1" || o.Source != naabu.Source {
			t.Errorf("%+v", o)
		}
		ports = append(ports, o.Port)
	}
	if fmt.Sprint(ports) != "[6379 18444 18082 18443 18081]" {
		t.Errorf("ports %v, want naabu's order of the five open ones (18099 refused: naabu writes nothing)", ports)
	}
	ingesttest.Golden(t, "naabu_lab_2026-12-04", obs)
}

func TestGolden(t *testing.T) {
	const file = "naabu_built_from_result_type.jsonl"
	data := ingesttest.ReadTestdata(t, file)
	if !naabu.Sniff(ingesttest.Head(data)) {
		t.Error("Sniff does not recognise the sample")
	}
	obs := ingesttest.MustReadAll(t, naabu.NewReader(bytes.NewReader(data), naabu.Options{}))
	ingesttest.Golden(t, "naabu_built_from_result_type", obs)
}

func TestSniffRefusesOthers(t *testing.T) {
	for _, head := range []string{
		`{"ip":"127.0.0.1","data":{"http":{}}}`,
		`{"ip":"127.0.0.1","port":80,"rec_type":"status"}`,
		`{"url":"http://127.0.0.1","port":"80","host":"127.0.0.1","timestamp":"x"}`,
		`{"host":"127.0.0.1","port":22,"status":"open","scannedAt":"2026-01-01T00:00:00Z"}`,
		`<?xml version="1.0"?>`,
	} {
		if naabu.Sniff([]byte(head)) {
			t.Errorf("Sniff(%s) = true", head)
		}
	}
}

func TestBadInput(t *testing.T) {
	ok := `{"ip":"127.0.0.1","port":%d,"timestamp":"2026-12-04T04:10:00Z"}`
	line := func(p int) string { return fmtLine(ok, p) }
	ingesttest.RunBadInput(t, newReader, []ingesttest.BadInput[naabu.Options]{
		{Name: "broken JSON between good lines", Input: line(1) + "\n{\"ip\":\n" + line(2) + "\n",
			Ports: []int{1, 2}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "byte"}}},
		{Name: "no port", Input: `{"ip":"127.0.0.1","timestamp":"2026-12-04T04:10:00Z"}` + "\n" + line(3) + "\n",
			Ports: []int{3}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "no port"}}},
		{Name: "bad timestamp", Input: line(4) + "\n" + `{"ip":"127.0.0.1","port":5,"timestamp":"yesterday"}` + "\n",
			Ports: []int{4}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "RFC 3339"}}},
		{Name: "bad protocol", Input: `{"ip":"127.0.0.1","port":5,"protocol":"sctp","timestamp":"2026-12-04T04:10:00Z"}` + "\n",
			Bad: []ingesttest.BadRecord{{Line: 1, Reason: "sctp"}}},
		{Name: "not an object", Input: "[1]\n" + line(6) + "\n", Ports: []int{6}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "object"}}},
	}, nil)
}

func TestReadError(t *testing.T) {
	ingesttest.CheckReadError(t, newReader, naabu.Options{}, `{"ip":"127.0.0.1","port":7,"timestamp":"2026-12-04T04:10:00Z"}`+"\n", []int{7})
}

func FuzzRead(f *testing.F) {
	f.Add(ingesttest.ReadTestdata(f, "naabu_built_from_result_type.jsonl"))
	f.Add([]byte(`{"ip":"127.0.0.1","port":-1,"timestamp":"2026-12-04T04:10:00Z","product":"x","version":"1.0 Debian"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := naabu.NewReader(bytes.NewReader(data), naabu.Options{})
		for i := 0; i < 1e5; i++ {
			o, err := r.Read()
			if err == io.EOF {
				return
			}
			if portolan.RecordError(err) == nil && err != nil {
				t.Fatalf("an in-memory input ended with %v", err)
			}
			if err == nil && (o == nil || o.Source != naabu.Source || o.Status != portolan.StatusOpen) {
				t.Fatalf("bad observation %+v", o)
			}
		}
		t.Fatal("Read did not reach EOF")
	})
}

// TestMemoryFlat reads 64 MiB of lines: the heap does not grow with them.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 64 MiB")
	}
	in := &ingesttest.Generated{Size: 64 << 20, Record: func(i int) []byte {
		return fmt.Appendf(nil, `{"host":"192.0.2.%d","ip":"192.0.2.%d","timestamp":"2026-12-04T04:10:00Z","port":%d,"protocol":"tcp","tls":false,"name":"mysql","product":"MySQL","version":"8.0.36","cpes":["cpe:/a:oracle:mysql:8.0.36"]}`+"\n", i%250, i%250, 1+i%65535)
	}}
	ingesttest.CheckFlatMemory(t, naabu.NewReader(in, naabu.Options{}), 4<<20)
}
