// SPDX-License-Identifier: Apache-2.0

// Package ingesttest holds the test helpers that the tests of the format
// readers (internal/ingest/masscan, nmap, shodan, zgrab2, zmap) share:
// reading testdata, reading a reader to the end, golden files, tables of
// broken input, a failing underlying reader, and the reading benchmarks.
//
// The package registers the -update flag, which makes Golden rewrite the
// golden files instead of comparing with them; a test package that imports
// ingesttest must not register its own.
package ingesttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"portolan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// LabCertSHA1 is the SHA-1 of lab_selfsigned_cert.pem, the certificate
// every TLS service of the lab presented in the sample scans
// (samples/README.md).
const LabCertSHA1 = "8ff5018a0fa83525278cf8abec72b6d64a8a7513"

// ReadTestdata returns the content of testdata/<name>, failing t if it
// cannot be read.
func ReadTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Head returns the first 4 KiB of b, or all of b if it is shorter: what the
// format detection of internal/ingest passes to a Sniff function.
func Head(b []byte) []byte {
	return b[:min(len(b), 4096)]
}

// MustReadAll reads r to the end and returns its observations. A record
// error fails t; an error that ends the input fails t at once.
func MustReadAll(t testing.TB, r portolan.ObservationReader) []*portolan.Observation {
	t.Helper()
	obs, bad, err := portolan.ReadAll(r)
	if err != nil {
		t.Fatalf("fatal error: %v", err)
	}
	for _, e := range bad {
		t.Errorf("record error: %v", e)
	}
	return obs
}

// Golden compares obs with testdata/<name>.golden.json, which holds them as
// indented JSON. They must be the same observations (compared with
// cmp.Diff after decoding the file, so that a nil and an empty slice
// differ) and the same bytes (so that the file is exactly what -update
// writes). Under -update, Golden writes the file instead.
func Golden(t testing.TB, name string, obs []*portolan.Observation) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	got, err := json.MarshalIndent(obs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var want []*portolan.Observation
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if diff := cmp.Diff(want, obs); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	} else if !bytes.Equal(raw, got) {
		t.Errorf("%s differs in its text (-want +got):\n%s", path, cmp.Diff(string(raw), string(got)))
	}
}

// BadRecord is a record error that a case expects: the line it is reported
// on and a part of its reason.
type BadRecord struct {
	Line   int
	Reason string
}

// String formats b as the messages of RunBadInput show it.
func (b BadRecord) String() string { return fmt.Sprintf("line %d: …%s…", b.Line, b.Reason) }

// BadInput is a case of a table of broken inputs, for RunBadInput. O is the
// Options type of the reader.
type BadInput[O any] struct {
	Name  string      // the name of the subtest
	Opts  O           // the options of the reader
	Input string      // the input
	Ports []int       // the observations, by port, in order
	Bad   []BadRecord // the record errors, in order
	Fatal string      // a part of the error that ends the input; "" for io.EOF
}

// RunBadInput runs each case as a subtest: it reads the case's Input to the
// end with the reader that newReader makes with the case's Opts, and checks
// that the valid records around the broken ones survive (the ports of the
// observations, in order), that each record error has the expected line, a
// reason containing the expected part and an offset, and that the input
// ends with io.EOF or, if the case says so, an error containing Fatal.
// checkFatal, unless nil, then checks such an error further, e.g. its type;
// it gets the case's Fatal and the error.
func RunBadInput[O any, R portolan.ObservationReader](t *testing.T, newReader func(io.Reader, O) R, cases []BadInput[O], checkFatal func(t *testing.T, fatal string, err error)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			obs, bad, err := portolan.ReadAll(newReader(strings.NewReader(tc.Input), tc.Opts))
			var ports []int
			for _, o := range obs {
				ports = append(ports, o.Port)
			}
			if diff := cmp.Diff(tc.Ports, ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			if len(bad) != len(tc.Bad) {
				t.Errorf("record errors %v, want %v", bad, tc.Bad)
			} else {
				for i, b := range bad {
					if b.Line != tc.Bad[i].Line || !strings.Contains(b.Reason, tc.Bad[i].Reason) || b.Offset < 0 {
						t.Errorf("record error %d: %v (offset %d), want %v", i, b, b.Offset, tc.Bad[i])
					}
				}
			}
			switch {
			case tc.Fatal == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.Fatal != "" && (err == nil || !strings.Contains(err.Error(), tc.Fatal)):
				t.Errorf("error %v, want one containing %q", err, tc.Fatal)
			case tc.Fatal != "" && checkFatal != nil:
				checkFatal(t, tc.Fatal, err)
			}
		})
	}
}

// CheckReadError checks that an error of the underlying reader ends the
// input: the reader that newReader makes with opts reads input and then
// gets an error. It must return the observations of input, with the given
// ports in order, then that error (wrapped or not) and no record error, and
// the error again from a further Read.
func CheckReadError[O any, R portolan.ObservationReader](t *testing.T, newReader func(io.Reader, O) R, opts O, input string, ports []int) {
	t.Helper()
	boom := errors.New("disk on fire")
	r := newReader(io.MultiReader(strings.NewReader(input), iotest.ErrReader(boom)), opts)
	obs, bad, err := portolan.ReadAll(r)
	var got []int
	for _, o := range obs {
		got = append(got, o.Port)
	}
	if !errors.Is(err, boom) || len(bad) != 0 || !cmp.Equal(got, ports) {
		t.Errorf("ports %v, record errors %v, error %v; want ports %v, then %v alone", got, bad, err, ports, boom)
	}
	if _, err := r.Read(); !errors.Is(err, boom) {
		t.Errorf("Read after the error: %v, want %v again", err, boom)
	}
}

// BenchRead measures reading data to the end with the reader that newReader
// makes with opts, in bytes per second and allocations. Any error other
// than io.EOF, record errors included, fails b.
func BenchRead[O any, R portolan.ObservationReader](b *testing.B, data []byte, newReader func(io.Reader, O) R, opts O) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := newReader(bytes.NewReader(data), opts)
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchDecodeAny is the yardstick of the JSON readers: encoding/json
// decoding each line of data into an any, which a reader's typed decoding
// must beat. A line that is not JSON fails b.
func BenchDecodeAny(b *testing.B, data []byte) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for line := range bytes.Lines(data) {
			var v any
			if err := json.Unmarshal(line, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Generated is an input made as it is read, so that it does not count in
// the heap a memory test measures: head, then record(0), record(1), … until
// at least size bytes of records, then tail.
type Generated struct {
	Head, Tail string
	Record     func(i int) []byte
	Size       int64

	i    int
	made int64
	buf  []byte
	done bool
}

// Read implements io.Reader.
func (g *Generated) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.Head != "":
			g.buf, g.Head = []byte(g.Head), ""
		case g.made < g.Size:
			g.buf = g.Record(g.i)
			g.i++
			g.made += int64(len(g.buf))
		case !g.done:
			g.buf, g.done = []byte(g.Tail), true
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// CheckFlatMemory reads r, a reader of a Generated input of many records,
// to the end and checks that the heap in use after the last observation
// exceeds that after the first thousand by at most slack bytes: memory flat
// in the input size. Record errors fail t.
func CheckFlatMemory(t *testing.T, r portolan.ObservationReader, slack uint64) {
	t.Helper()
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var early, n uint64
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 1000 {
			early = heap()
		}
	}
	late := heap()
	if n < 10000 {
		t.Fatalf("%d observations: the input is too small to tell", n)
	}
	if late > early+slack {
		t.Errorf("the heap grew from %d KiB to %d KiB over %d observations; want at most %d KiB more", early>>10, late>>10, n, slack>>10)
	}
	t.Logf("%d observations; heap %d KiB after 1000, %d KiB at the end", n, early>>10, late>>10)
}
