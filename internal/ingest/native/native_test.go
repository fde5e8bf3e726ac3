// SPDX-License-Identifier: Apache-2.0

package native_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"strings"
	"testing"
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
// JSON string does not reject the record: encoding/json turns it into U+FFFD.
func TestInvalidUTF8InAJSONString(t *testing.T) {
	obs, bad := readAll(t, "{\"host\":\"192.0.2.1\",\"port\":80,\"status\":\"open\",\"scannedAt\":\"2026-01-01T00:00:00Z\",\"source\":\"x\",\"banner\":\"a\xffb\"}")
	if len(bad) != 0 || len(obs) != 1 {
		t.Fatalf("bad %v", bad)
	}
	if obs[0].Banner != "a\uFFFDb" {
		t.Errorf("banner %q", obs[0].Banner)
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	obs, bad := readAll(t, `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`)
	if len(obs) != 1 || len(bad) != 0 {
		t.Fatalf("%d observations, %v", len(obs), bad)
	}
}

func FuzzReader(f *testing.F) {
	data, _ := os.ReadFile("testdata/lab.ndjson")
	f.Add(data)
	f.Add([]byte(`{"host":"1.2.3.4","port":1,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}` + "\n{\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := native.NewReader(bytes.NewReader(in), 1024)
		for i := 0; ; i++ {
			o, err := r.Read()
			if err == io.EOF {
				return
			}
			if i > len(in)+1 {
				t.Fatal("more records than lines")
			}
			if err == nil {
				o.Normalize()
			}
		}
	})
}
