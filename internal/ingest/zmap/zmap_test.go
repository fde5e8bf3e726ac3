// SPDX-License-Identifier: Apache-2.0

package zmap_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/zmap"
)

// modTime stands for the modification time of zmap_80_default_saddr.csv.
var modTime = time.Date(2026, 11, 27, 12, 9, 50, 0, time.UTC)

var goldenCases = []struct {
	file string
	opts zmap.Options
}{
	{"zmap_18022_json_allfields.jsonl", zmap.Options{}},
	{"zmap_18099_closed_csv_allfields.csv", zmap.Options{}},
	{"zmap_443_csv_allfields.csv", zmap.Options{}},
	{"zmap_80_default_saddr.csv", zmap.Options{Port: 80, ModTime: modTime}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, zmap.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, tc.file)), tc.opts))
			ingesttest.Golden(t, strings.TrimSuffix(tc.file, filepath.Ext(tc.file)), obs)
		})
	}
}

// TestSampleFacts checks, against the samples read by hand, what the golden
// files hold: the retransmitted answers (repeat=1) of a port collapse into
// one observation spanning the first to the last answer.
func TestSampleFacts(t *testing.T) {
	us := func(sec, usec int64) time.Time { return time.Unix(sec, usec*1000).UTC() }
	cases := []struct {
		file     string
		opts     zmap.Options
		want     *portolan.Observation
		modTimed bool
	}{
		{"zmap_18022_json_allfields.jsonl", zmap.Options{}, &portolan.Observation{Host: "127.0.0.1", Port: 18022, Protocol: "tcp",
			Status: portolan.StatusOpen, SeenAt: us(1795781408, 671534), ScannedAt: us(1795781415, 671697), Source: "zmap"}, false},
		{"zmap_443_csv_allfields.csv", zmap.Options{}, &portolan.Observation{Host: "127.0.0.1", Port: 443, Protocol: "tcp",
			Status: portolan.StatusOpen, SeenAt: us(1795781399, 540812), ScannedAt: us(1795781406, 541055), Source: "zmap"}, false},
		{"zmap_18099_closed_csv_allfields.csv", zmap.Options{}, &portolan.Observation{Host: "127.0.0.1", Port: 18099, Protocol: "tcp",
			Status: portolan.StatusClosed, SeenAt: us(1795781417, 744495), ScannedAt: us(1795781417, 744495), Source: "zmap"}, false},
		{"zmap_80_default_saddr.csv", zmap.Options{Port: 80, ModTime: modTime.In(time.FixedZone("CET", 3600))}, &portolan.Observation{Host: "127.0.0.1", Port: 80, Protocol: "tcp",
			Status: portolan.StatusOpen, SeenAt: modTime, ScannedAt: modTime, Source: "zmap"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r := zmap.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, tc.file)), tc.opts)
			obs := ingesttest.MustReadAll(t, r)
			if diff := cmp.Diff([]*portolan.Observation{tc.want}, obs); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if r.UsedModTime() != tc.modTimed {
				t.Errorf("UsedModTime() = %v", r.UsedModTime())
			}
			n := *obs[0]
			if err := n.Normalize(); err != nil {
				t.Errorf("Normalize: %v", err)
			}
		})
	}
}

// TestDefaultOutputNeedsPort checks the clear failure for ZMap's default
// output read without --port or without the file's time.
func TestDefaultOutputNeedsPort(t *testing.T) {
	data := ingesttest.ReadTestdata(t, "zmap_80_default_saddr.csv")
	for _, tc := range []struct {
		opts zmap.Options
		want string
	}{
		{zmap.Options{ModTime: modTime}, "zmap: line 1: the file has no sport field, so the scanned port is unknown: pass --port"},
		{zmap.Options{Port: 80}, "zmap: line 1: the file has no timestamp-ts or timestamp-str field"},
	} {
		obs, bad, err := portolan.ReadAll(zmap.NewReader(bytes.NewReader(data), tc.opts))
		var pe *portolan.InputError
		if len(obs) != 0 || len(bad) != 0 || !errors.As(err, &pe) || !pe.Fatal || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: observations %v, record errors %v, error %v; want %q", tc.opts, obs, bad, err, tc.want)
		}
	}
}

const (
	csvHeader = "saddr,daddr,sport,dport,classification,success,repeat,timestamp-str,timestamp-ts,timestamp-us\n"
	jsonLine  = `{ "saddr": "%s", "sport": %d, "classification": "%s", "success": %d, "repeat": %d, "timestamp-ts": %d, "timestamp-us": 0 }` + "\n"
)

func TestAnswers(t *testing.T) {
	type port struct {
		host          string
		port          int
		proto         portolan.Protocol
		status        portolan.HostPortStatus
		seen, scanned int64
	}
	cases := []struct {
		name, input string
		opts        zmap.Options
		want        []port
	}{
		{"closed then open is open", csvHeader +
			"192.0.2.1,192.0.2.9,80,4000,rst,0,0,,105,\n" +
			"192.0.2.1,192.0.2.9,80,4001,synack,1,0,,100,\n" +
			"192.0.2.2,192.0.2.9,80,4002,rst,0,0,,101,\n",
			zmap.Options{}, []port{{"192.0.2.1", 80, "tcp", portolan.StatusOpen, 100, 105}, {"192.0.2.2", 80, "tcp", portolan.StatusClosed, 101, 101}}},
		{"udp and icmp", csvHeader +
			"192.0.2.1,192.0.2.9,53,4000,udp,1,0,,100,\n" +
			"198.51.100.1,192.0.2.9,0,0,icmp-unreach,0,0,,100,\n",
			zmap.Options{}, []port{{"192.0.2.1", 53, "udp", portolan.StatusOpen, 100, 100}}},
		{"timestamp-str only", "saddr,sport,timestamp-str\n192.0.2.1,22,2026-11-27T12:10:08.671+0000\n192.0.2.1,22,2026-11-27T12:10:09.100+0100\n",
			zmap.Options{}, []port{{"192.0.2.1", 22, "tcp", portolan.StatusOpen, 1795777809, 1795781408}}}, // +0100: an hour earlier
		{"quoted fields and CRLF", "\xEF\xBB\xBF\"saddr\",\"sport\",\"timestamp-ts\",\"data\"\r\n\"192.0.2.1\",\"22\",\"100\",\"a,\"\"b\"\"\"\r\n",
			zmap.Options{}, []port{{"192.0.2.1", 22, "tcp", portolan.StatusOpen, 100, 100}}},
		{"json with the port given", `{"saddr": "192.0.2.1", "success": true, "timestamp-ts": 100}` + "\n",
			zmap.Options{Port: 8080}, []port{{"192.0.2.1", 8080, "tcp", portolan.StatusOpen, 100, 100}}},
		{"json repeats", fmt.Sprintf(jsonLine, "2001:db8::1", 443, "synack", 1, 0, 100) + fmt.Sprintf(jsonLine, "2001:db8::1", 443, "synack", 1, 1, 103),
			zmap.Options{}, []port{{"2001:db8::1", 443, "tcp", portolan.StatusOpen, 100, 103}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, zmap.NewReader(strings.NewReader(tc.input), tc.opts))
			var got []port
			for _, o := range obs {
				got = append(got, port{o.Host, o.Port, o.Protocol, o.Status, o.SeenAt.Unix(), o.ScannedAt.Unix()})
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(port{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestBadInput feeds broken lines between good ones: each problem is a
// record error with its line, or an error that ends the input after the
// observations gathered so far.
func TestBadInput(t *testing.T) {
	good := func(port int) string { return fmt.Sprintf(jsonLine, "192.0.2.1", port, "synack", 1, 0, 100) }
	row := func(port int) string { return fmt.Sprintf("192.0.2.1,192.0.2.9,%d,4000,synack,1,0,,100,\n", port) }
	cases := []ingesttest.BadInput[zmap.Options]{
		{Name: "empty", Input: ""},
		{Name: "csv truncated row", Input: csvHeader + row(80) + "192.0.2.1,192.0.2.9,4", Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 3, Reason: "the row has 3 fields, the header 10"}}},
		{Name: "csv bad fields", Input: csvHeader + "192.0.2.1,192.0.2.9,http,4000,synack,1,0,,100,\n" +
			"192.0.2.\xff,192.0.2.9,81,4000,synack,1,0,,100,\n" +
			"192.0.2.1,192.0.2.9,82,4000,synack,yes,0,,100,\n" +
			"192.0.2.1,192.0.2.9,83,4000,synack,1,0,,,\n" +
			"192.0.2.1,192.0.2.9,84,4000,synack,1,0,,soon,\n" +
			"\"192.0.2.1,192.0.2.9,85\n" + row(443),
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: `sport "http"`}, {Line: 3, Reason: `saddr "192.0.2.\xff" is not an IP address`}, {Line: 4, Reason: `success "yes"`},
				{Line: 5, Reason: "no timestamp"}, {Line: 6, Reason: `timestamp-ts "soon"`}, {Line: 7, Reason: "quoted field is not closed"}}},
		{Name: "csv without header", Input: "192.0.2.1,80\n", Fatal: "line 1: the first line is neither"},
		{Name: "csv cut inside its header", Input: csvHeader[:20], Fatal: "line 1: the file ends inside its header line: it was cut short (truncated)"},
		{Name: "csv cut inside the first field of its header", Input: "sad", Fatal: "line 1: the file ends inside its header line"},
		{Name: "csv header of a scan that found nothing", Input: csvHeader},
		{Name: "csv without sport", Input: "saddr,timestamp-ts\n192.0.2.1,100\n", Fatal: "line 1: the file has no sport field"},
		{Name: "json invalid UTF-8", Input: good(80) + `{"saddr": "192.0.2.1", "sport": 81, "classification": "synack` + "\xff" + `", "timestamp-ts": 100}` + "\n" + good(443),
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "not valid UTF-8"}}},
		{Name: "json truncated", Input: good(80) + good(443)[:30], Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "invalid JSON: the record ends inside a string (byte 30)"}}},
		{Name: "json wrong types", Input: `{"saddr": "192.0.2.1", "sport": "80", "timestamp-ts": 100}` + "\n" + `{"saddr": "192.0.2.1", "sport": 81, "success": 2, "timestamp-ts": 100}` + "\n" + good(443),
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `"sport" must be a number (byte 32)`}, {Line: 2, Reason: `"success" must be 1, 0, true or false (byte 47)`}}},
		{Name: "json missing saddr", Input: `{"sport": 80, "timestamp-ts": 100}` + "\n" + good(443), Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `saddr "" is not an IP address`}}},
		{Name: "json missing sport", Input: good(80) + `{"saddr": "192.0.2.1", "timestamp-ts": 100}` + "\n" + good(443),
			Ports: []int{80}, Fatal: "zmap: line 2: the file has no sport field, so the scanned port is unknown: pass --port"},
		{Name: "json missing time", Input: good(80) + `{"saddr": "192.0.2.1", "sport": 81}` + "\n", Ports: []int{80}, Fatal: "line 2: the file has no timestamp"},
		{Name: "json deeply nested", Input: good(80) + `{"saddr": "192.0.2.1", "x": ` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + "}\n" + good(443),
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "deeper than 64 levels"}}},
		{Name: "enormous line", Opts: zmap.Options{MaxLineBytes: 500}, Input: good(80) + `{"saddr": "` + strings.Repeat("1", 100_000) + "\"}\n" + good(443),
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "longer than 500 bytes"}}},
	}
	ingesttest.RunBadInput(t, zmap.NewReader, cases, func(t *testing.T, _ string, err error) {
		var pe *portolan.InputError
		if !errors.As(err, &pe) || !pe.Fatal {
			t.Errorf("error %T, want a fatal *portolan.InputError", err)
		}
	})
}

func TestReadError(t *testing.T) {
	ingesttest.CheckReadError(t, zmap.NewReader, zmap.Options{}, csvHeader+"192.0.2.1,192.0.2.9,80,4000,synack,1,0,,100,\n", []int{80})
}

func TestSniff(t *testing.T) {
	for _, tc := range goldenCases {
		if !zmap.Sniff(ingesttest.ReadTestdata(t, tc.file)) {
			t.Errorf("Sniff(%s) = false", tc.file)
		}
	}
	others := map[string]string{
		"masscan -oL":  "#masscan\nopen tcp 80 127.0.0.1 1795781207\n",
		"masscan -oD":  `{"ip":"127.0.0.1","timestamp":"1795781195","port":80,"proto":"tcp","rec_type":"status"}`,
		"zgrab2":       `{"ip":"127.0.0.1","port":18081,"data":{"http":{"status":"success"}}}`,
		"shodan":       `{"ip_str": "192.0.2.1", "data": "SSH-2.0-OpenSSH_9.2p1", "port": 22}`,
		"nmap XML":     `<?xml version="1.0"?><nmaprun scanner="nmap">`,
		"text":         "hello\n127.0.0.1\n",
		"empty":        "",
		"address list": "127.0.0.1\nlocalhost\n",
	}
	for name, in := range others {
		if zmap.Sniff([]byte(in)) {
			t.Errorf("Sniff(%s) = true", name)
		}
	}
	// A 4 KiB head cut inside the last address.
	long := strings.Repeat("192.0.2.123\n", 400)[:4096]
	if !zmap.Sniff([]byte(long)) {
		t.Errorf("Sniff(long address list) = false")
	}
}

func FuzzReader(f *testing.F) {
	for _, tc := range goldenCases {
		f.Add(ingesttest.ReadTestdata(f, tc.file))
	}
	f.Add([]byte("\"saddr\",\"sport\",\"timestamp-ts\"\n\"1.2.3.4\",\"\"\"5\",\"6\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := zmap.NewReader(bytes.NewReader(data), zmap.Options{Port: 1, ModTime: modTime, MaxLineBytes: 1024, MaxDepth: 8})
		for calls := 0; ; calls++ {
			if calls > 4*len(data)+16 {
				t.Fatalf("more than %d calls to Read: the reader does not progress", calls)
			}
			o, err := r.Read()
			if err == io.EOF {
				return
			}
			if ie := portolan.RecordError(err); ie != nil {
				if ie.Line <= 0 {
					t.Fatalf("record error without a line: %v", ie)
				}
				continue
			}
			if err != nil {
				return
			}
			if o == nil || o.Source != "zmap" || o.SeenAt.After(o.ScannedAt) {
				t.Fatalf("bad observation %+v", o)
			}
		}
	})
}

// benchInput is about 1 MiB of answers from many ports, in the sample's
// layout.
func benchInput(b *testing.B, name string) []byte {
	data := ingesttest.ReadTestdata(b, name)
	var header []byte
	if strings.HasSuffix(name, ".csv") {
		i := bytes.IndexByte(data, '\n') + 1
		header, data = data[:i], data[i:]
	}
	out := append([]byte{}, header...)
	for i := 0; len(out) < 1<<20; i++ {
		// A new address per copy, so that the aggregation sees many ports.
		out = append(out, bytes.ReplaceAll(data, []byte("127.0.0.1"), fmt.Appendf(nil, "10.%d.%d.%d", i>>16&255, i>>8&255, i&255))...)
	}
	return out
}

func BenchmarkReader(b *testing.B) {
	for _, name := range []string{"zmap_443_csv_allfields.csv", "zmap_18022_json_allfields.jsonl"} {
		data := benchInput(b, name)
		b.Run(name, func(b *testing.B) {
			ingesttest.BenchRead(b, data, zmap.NewReader, zmap.Options{})
		})
	}
}

// BenchmarkDecodeAny is the yardstick: encoding/json decoding the same JSON
// lines into any.
func BenchmarkDecodeAny(b *testing.B) {
	ingesttest.BenchDecodeAny(b, benchInput(b, "zmap_18022_json_allfields.jsonl"))
}
