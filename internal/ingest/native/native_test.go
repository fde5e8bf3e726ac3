// SPDX-License-Identifier: Apache-2.0

package native_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"portolan"
	"portolan/internal/ingest/native"
)

func readAll(t *testing.T, input string) ([]*portolan.Observation, []*portolan.InputError) {
	t.Helper()
	obs, bad, err := portolan.ReadAll(native.NewReader(strings.NewReader(input), 256))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return obs, bad
}

func TestReadsTheLabFile(t *testing.T) {
	data, err := os.ReadFile("testdata/lab.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if !native.Sniff(data) {
		t.Fatal("Sniff does not recognise a native file")
	}
	obs, bad, err := portolan.ReadAll(native.NewReader(bytes.NewReader(data), 0))
	if err != nil || len(bad) != 0 {
		t.Fatalf("err %v, rejected %v", err, bad)
	}
	if len(obs) != 4 {
		t.Fatalf("%d observations, want 4", len(obs))
	}
	ssh := obs[0]
	if ssh.Port != 18022 || ssh.Status != portolan.StatusOpen || len(ssh.Components) != 2 || ssh.Hostnames[0] != "localhost" ||
		!ssh.SeenAt.Equal(time.Date(2026, 11, 27, 11, 54, 22, 0, time.UTC)) {
		t.Errorf("ssh observation: %+v", ssh)
	}
	if sha := portolan.CertificateDigest(obs[1].Certificate); sha != "8ff5018a0fa83525278cf8abec72b6d64a8a7513" {
		t.Errorf("PEM certificate decoded to SHA-1 %s", sha)
	}
	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			t.Errorf("normalise %+v: %v", o, err)
		}
	}
	if obs[2].Host != "127.0.0.1" || !obs[2].ScannedAt.Equal(time.Date(2026, 11, 27, 11, 11, 0, 0, time.UTC)) {
		t.Errorf("mapped address and offset time: %s %s", obs[2].Host, obs[2].ScannedAt)
	}
	if obs[3].Host != "2001:db8::1" || obs[3].Protocol != portolan.UDP {
		t.Errorf("IPv6 udp: %s %s", obs[3].Host, obs[3].Protocol)
	}
}

func TestBase64Certificate(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	obs, bad := readAll(t, `{"host":"192.0.2.1","port":443,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"`+base64.StdEncoding.EncodeToString(der)+`"}`)
	if len(bad) != 0 || !bytes.Equal(obs[0].Certificate, der) {
		t.Fatalf("bad %v, certificate %x", bad, obs[0].Certificate)
	}
}

func TestRejectsBadRecordsAndKeepsTheRest(t *testing.T) {
	good := `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`
	cases := []struct {
		name, line, reason string
	}{
		{"syntax", `{"host":`, "truncated"},
		{"not an object", `[1,2]`, "not a valid observation"},
		{"missing host", `{"port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`, `"host" is missing`},
		{"missing port", `{"host":"192.0.2.1","status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`, `"port" is missing`},
		{"missing scannedAt", `{"host":"192.0.2.1","port":80,"status":"open","source":"x"}`, `"scannedAt" is missing`},
		{"missing source", `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z"}`, `"source" is missing`},
		{"missing status", `{"host":"192.0.2.1","port":80,"scannedAt":"2026-01-01T00:00:00Z","source":"x"}`, `"status" is missing`},
		{"wrong type", `{"host":"192.0.2.1","port":"80","status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`, `"port" must be int`},
		{"bad time", `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"yesterday","source":"x"}`, "not an RFC 3339"},
		{"unknown field", `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","prot":"tcp"}`, `unknown field "prot"`},
		{"bad certificate", `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"%%%"}`, "neither PEM nor base64"},
		{"two values", good + ` {}`, "more than one JSON value"},
		{"too long", `{"host":"` + strings.Repeat("a", 300) + `"}`, "longer than 256 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs, bad := readAll(t, good+"\n"+c.line+"\n"+good+"\n")
			if len(obs) != 2 {
				t.Errorf("%d valid observations kept, want 2", len(obs))
			}
			if len(bad) != 1 {
				t.Fatalf("%d rejections, want 1", len(bad))
			}
			if bad[0].Line != 2 || !strings.Contains(bad[0].Reason, c.reason) {
				t.Errorf("rejection %q at line %d; want line 2 and %q", bad[0].Reason, bad[0].Line, c.reason)
			}
		})
	}
}

// TestInvalidUTF8InAJSONString checks that a byte that is not UTF-8 inside a
// JSON string rejects the record, with its reason, and keeps the others:
// JSON must be UTF-8, and decoding the byte as U+FFFD, as encoding/json
// did, would silently alter the banner.
func TestInvalidUTF8InAJSONString(t *testing.T) {
	good := `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`
	obs, bad := readAll(t, good+"\n{\"host\":\"192.0.2.1\",\"port\":80,\"status\":\"open\",\"scannedAt\":\"2026-01-01T00:00:00Z\",\"source\":\"x\",\"banner\":\"a\xffb\"}\n"+good)
	if len(obs) != 2 || len(bad) != 1 {
		t.Fatalf("%d observations, rejections %v", len(obs), bad)
	}
	if bad[0].Line != 2 || !strings.Contains(bad[0].Reason, "not valid UTF-8") {
		t.Errorf("rejection %q at line %d; want line 2, not valid UTF-8", bad[0].Reason, bad[0].Line)
	}
}

// TestPosition checks that Position gives the line, and its offset, of
// the observation Read returned last, past blank and rejected lines.
func TestPosition(t *testing.T) {
	good := `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`
	input := good + "\n\n  \r\n{\n" + good + "\r\n"
	r := native.NewReader(strings.NewReader(input), 0)
	if line, off := r.Position(); line != 0 || off != -1 {
		t.Errorf("before reading: %d %d", line, off)
	}
	want := []struct {
		line int
		off  int64
	}{{1, 0}, {5, int64(len(good)) + 8}}
	for _, w := range want {
		o, err := r.Read()
		for err != nil {
			if portolan.RecordError(err) == nil {
				t.Fatal(err)
			}
			o, err = r.Read()
		}
		if line, off := r.Position(); o == nil || line != w.line || off != w.off {
			t.Errorf("observation at line %d, byte %d; want %d, %d", line, off, w.line, w.off)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("at the end: %v", err)
	}
}

// TestLineLimit checks that the limit bounds a line without its line
// ending.
func TestLineLimit(t *testing.T) {
	line := `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`
	for _, end := range []string{"", "\n", "\r\n"} {
		if obs, bad, err := portolan.ReadAll(native.NewReader(strings.NewReader(line+end), len(line))); err != nil || len(obs) != 1 || len(bad) != 0 {
			t.Errorf("line of the limit ending %q: %d observations, %v, %v", end, len(obs), bad, err)
		}
		obs, bad, err := portolan.ReadAll(native.NewReader(strings.NewReader(line+"\n"+line+end), len(line)-1))
		if err != nil || len(obs) != 0 || len(bad) != 2 || !strings.Contains(bad[1].Reason, fmt.Sprintf("longer than %d bytes", len(line)-1)) {
			t.Errorf("lines over the limit ending %q: %d observations, %v, %v", end, len(obs), bad, err)
		}
	}
}

// TestStrayBracket checks that a "}" or "]" after the object rejects the
// line: encoding/json's Decoder.More let them through.
func TestStrayBracket(t *testing.T) {
	good := `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`
	_, bad := readAll(t, good+"}\n"+good+" ]\n")
	if len(bad) != 2 || !strings.Contains(bad[0].Reason, `'}' after the object`) || !strings.Contains(bad[1].Reason, `']' after the object`) {
		t.Errorf("rejections %v", bad)
	}
}

// TestReadError checks that an error of the underlying reader ends the
// input, with the offset where it failed, and is returned again.
func TestReadError(t *testing.T) {
	good := `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}` + "\n"
	boom := errors.New("boom")
	r := native.NewReader(io.MultiReader(strings.NewReader(good), iotest.ErrReader(boom)), 0)
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Read(); !errors.Is(err, boom) || !strings.Contains(err.Error(), fmt.Sprintf("byte %d", len(good))) {
			t.Errorf("error %v", err)
		}
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	obs, bad := readAll(t, `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`)
	if len(obs) != 1 || len(bad) != 0 {
		t.Fatalf("%d observations, %v", len(obs), bad)
	}
}

// FuzzReader checks that the reader neither fails nor loops on any input,
// and that it reads it as the encoding/json reader it replaced did, with
// the differences made on purpose (reference_test.go).
func FuzzReader(f *testing.F) {
	data, _ := os.ReadFile("testdata/lab.ndjson")
	f.Add(data)
	f.Add([]byte(`{"host":"1.2.3.4","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}` + "\n{\n"))
	for _, line := range referenceLines {
		f.Add([]byte(line + "\n"))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := native.NewReader(bytes.NewReader(in), 1024)
		for i := 0; ; i++ {
			o, err := r.Read()
			if err == io.EOF {
				break
			}
			if i > len(in)+1 {
				t.Fatal("more records than lines")
			}
			if err == nil {
				o.Normalize()
			}
		}
		compareWithReference(t, in, 1024)
	})
}
