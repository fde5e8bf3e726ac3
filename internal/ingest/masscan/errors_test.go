// SPDX-License-Identifier: Apache-2.0

package masscan_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/ingest/masscan"
)

// badRecord is an expected record error: its line and a part of its reason.
type badRecord struct {
	line   int
	reason string
}

func (b badRecord) String() string { return fmt.Sprintf("line %d: …%s…", b.line, b.reason) }

// nested returns a JSON value nested n deep.
func nested(n int) string {
	return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)
}

const (
	ndOpen80  = `{"ip":"192.0.2.1","timestamp":"100","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open"}}`
	ndOpen443 = `{"ip":"192.0.2.1","timestamp":"101","port":443,"proto":"tcp","rec_type":"status","data":{"status":"open"}}`
	jOpen80   = `{ "ip": "192.0.2.1", "timestamp": "100", "ports": [ {"port": 80, "proto": "tcp", "status": "open"} ] }`
	jOpen443  = `{ "ip": "192.0.2.1", "timestamp": "101", "ports": [ {"port": 443, "proto": "tcp", "status": "open"} ] }`
	xHead     = "<?xml version=\"1.0\"?>\n<nmaprun scanner=\"masscan\" start=\"100\">\n"
	xOpen80   = `<host endtime="100"><address addr="192.0.2.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open"/></port></ports></host>` + "\n"
	xOpen443  = `<host endtime="101"><address addr="192.0.2.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="443"><state state="open"/></port></ports></host>` + "\n"
	xTail     = "</nmaprun>\n"
)

// TestBadInput feeds broken input in every format: each problem is reported
// with its position, and the valid records around it are still returned.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name  string
		opts  masscan.Options
		input string
		ports []int       // the observations, by port, in order
		bad   []badRecord // the record errors, in order
		fatal string      // part of the error that ends the input; "" for io.EOF
	}{
		{name: "empty", input: ""},
		{name: "blank", input: "\n\n  \n"},
		{name: "unknown format", opts: masscan.Options{Format: "gnmap"}, input: "x", fatal: `unknown format "gnmap"`},

		// -oL
		{name: "list truncated line", input: "open tcp 80 192.0.2.1 100\nopen tcp 443 192.0.2.1",
			ports: []int{80}, bad: []badRecord{{2, "fewer than 5 fields"}}},
		{name: "list missing field", input: "open tcp 80 192.0.2.1 100\nbanner tcp 80 192.0.2.1 100\nopen tcp 443 192.0.2.1 101\n",
			ports: []int{80, 443}, bad: []badRecord{{2, "no service name"}}},
		{name: "list bad numbers", input: "open tcp http 192.0.2.1 100\nopen tcp 80 192.0.2.1 yesterday\nopen tcp 443 192.0.2.1 101\n",
			ports: []int{443}, bad: []badRecord{{1, `port "http"`}, {2, `timestamp "yesterday"`}}},
		{name: "list unknown kind", input: "filtered tcp 80 192.0.2.1 100\nopen tcp 443 192.0.2.1 101\n",
			ports: []int{443}, bad: []badRecord{{1, `unknown record kind "filtered"`}}},
		{name: "list enormous line", opts: masscan.Options{MaxLineBytes: 100},
			input: "open tcp 80 192.0.2.1 100\nbanner tcp 80 192.0.2.1 100 http " + strings.Repeat("A", 200_000) + "\nopen tcp 443 192.0.2.1 101\n",
			ports: []int{80, 443}, bad: []badRecord{{2, "longer than 100 bytes"}}},
		{name: "list invalid UTF-8 is banner data", input: "banner tcp 21 192.0.2.1 100 ftp 220 \xff\xfe caf\xc3\n",
			ports: []int{21}},

		// -oD
		{name: "ndjson invalid UTF-8", input: ndOpen80 + "\n" + `{"ip":"192.0.2.1","timestamp":"100","port":21,"proto":"tcp","rec_type":"banner","data":{"service_name":"ftp","banner":"220 ` + "\xff" + `"}}` + "\n" + ndOpen443 + "\n",
			ports: []int{80, 443}, bad: []badRecord{{2, "not valid UTF-8"}}},
		{name: "ndjson missing fields", input: `{"ip":"192.0.2.1","timestamp":"100","proto":"tcp","rec_type":"status","data":{"status":"open"}}` + "\n" +
			`{"ip":"192.0.2.1","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open"}}` + "\n" +
			`{"timestamp":"100","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open"}}` + "\n" +
			`{"ip":"192.0.2.1","timestamp":"100","port":80,"rec_type":"status","data":{}}` + "\n" + ndOpen443 + "\n",
			ports: []int{443}, bad: []badRecord{{1, "no port"}, {2, "no timestamp"}, {3, "no ip"}, {4, "no data.status"}}},
		{name: "ndjson truncated", input: ndOpen80 + "\n" + ndOpen443[:40],
			ports: []int{80}, bad: []badRecord{{2, "invalid JSON: the record ends inside a string (byte 40)"}}},
		{name: "ndjson wrong type", input: `{"ip":"192.0.2.1","timestamp":"100","port":"80","rec_type":"status","data":{"status":"open"}}` + "\n" + ndOpen443,
			ports: []int{443}, bad: []badRecord{{1, `"port" must be a number (byte 43)`}}},
		{name: "ndjson deeply nested", input: ndOpen80 + "\n" + nested(100) + "\n" + ndOpen443 + "\n",
			ports: []int{80, 443}, bad: []badRecord{{2, "deeper than 64 levels"}}},
		{name: "ndjson enormous line", opts: masscan.Options{MaxLineBytes: 1000},
			input: ndOpen80 + "\n" + `{"ip":"` + strings.Repeat("1", 100_000) + `"}` + "\n" + ndOpen443 + "\n",
			ports: []int{80, 443}, bad: []badRecord{{2, "longer than 1000 bytes"}}},

		// -oJ
		{name: "json trailing commas", input: "[\n" + jOpen80 + ",\n" + jOpen443 + ",\n{finished: 1}\n]\n", ports: []int{80, 443}},
		{name: "json appended arrays", input: "[\n" + jOpen80 + "\n]\n[\n" + jOpen443 + "\n]\n", ports: []int{80, 443}},
		{name: "json pretty", input: "[\n  {\n    \"ip\": \"192.0.2.1\",\n    \"timestamp\": 100,\n    \"ports\": [\n      {\"port\": 80, \"status\": \"open\"}\n    ]\n  }\n]\n", ports: []int{80}},
		{name: "json truncated", input: "[\n" + jOpen80 + "\n,\n" + jOpen443[:30],
			ports: []int{80}, bad: []badRecord{{4, "truncated"}}},
		{name: "json deeply nested", input: "[\n" + jOpen80 + "\n,\n" + nested(100) + "\n,\n" + jOpen443 + "\n]\n",
			ports: []int{80, 443}, bad: []badRecord{{4, "deeper than 64 levels"}}},
		{name: "json enormous record", opts: masscan.Options{MaxLineBytes: 1000},
			input: "[\n" + jOpen80 + "\n,\n{\"ip\": \"" + strings.Repeat("9", 50_000) + "\"}\n,\n" + jOpen443 + "\n]\n",
			ports: []int{80, 443}, bad: []badRecord{{4, "longer than 1000 bytes"}}},
		{name: "json junk between records", input: "[\n" + jOpen80 + "\n,\nnull garbage {\n" + jOpen443 + "\n]\n",
			ports: []int{80, 443}, bad: []badRecord{{4, `unexpected "n"`}}},
		{name: "json invalid UTF-8", input: "[\n" + jOpen80 + ",\n{\"ip\": \"\xff\"}\n,\n" + jOpen443 + "\n]\n",
			ports: []int{80, 443}, bad: []badRecord{{3, "not valid UTF-8"}}},
		{name: "json no ports", input: "[\n{\"ip\": \"192.0.2.1\", \"timestamp\": \"1\"},\n" + jOpen443 + "\n]\n",
			ports: []int{443}, bad: []badRecord{{2, "no ports"}}},

		// -oX
		{name: "xml entity declaration", input: "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>\n<nmaprun scanner=\"masscan\">&lol2;</nmaprun>\n",
			fatal: "line 5: XML entity declarations are refused"},
		{name: "xml truncated inside a record", input: xHead + xOpen80 + xOpen443[:60],
			ports: []int{80}, bad: []badRecord{{4, "ends inside this record"}}},
		{name: "xml interrupted scan", input: xHead + xOpen80 + xOpen443,
			ports: []int{80, 443}, bad: []badRecord{{5, "ends before the XML document does"}}},
		{name: "xml deeply nested", input: xHead + xOpen80 + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + xOpen443 + xTail,
			ports: []int{80}, fatal: "line 4: XML nests deeper than 64 levels"},
		{name: "xml invalid UTF-8", input: xHead + xOpen80 + "<host endtime=\"1\"><address addr=\"\xff\"/></host>\n" + xOpen443 + xTail,
			ports: []int{80}, fatal: "line 4: XML syntax error: invalid UTF-8"},
		{name: "xml syntax error", input: xHead + xOpen80 + "<host endtime=1></host>\n" + xOpen443 + xTail,
			ports: []int{80}, fatal: "line 4: XML syntax error"},
		{name: "xml enormous token", opts: masscan.Options{MaxLineBytes: 1000},
			input: xHead + xOpen80 + `<host endtime="1"><address addr="` + strings.Repeat("1", 5000) + `"/></host>` + "\n" + xOpen443 + xTail,
			ports: []int{80}, fatal: "longer than 1000 bytes"},
		{name: "xml enormous host", opts: masscan.Options{MaxLineBytes: 1000},
			input: xHead + xOpen80 + `<host endtime="1"><address addr="192.0.2.9"/><ports>` + strings.Repeat(`<port protocol="tcp" portid="1"><state state="open"/></port>`, 100) + "</ports></host>\n" + xOpen443 + xTail,
			ports: []int{80, 443}, bad: []badRecord{{4, "longer than 1000 bytes"}}},
		{name: "xml missing fields", input: xHead +
			`<host endtime="100"><ports><port protocol="tcp" portid="22"><state state="open"/></port></ports></host>` + "\n" +
			`<host endtime="100"><address addr="192.0.2.1"/><ports><port protocol="tcp" portid="ssh"><state state="open"/></port><port protocol="tcp" portid="80"/></ports></host>` + "\n" +
			xOpen443 + xTail,
			ports: []int{443}, bad: []badRecord{{3, "no address"}, {4, `portid "ssh"`}, {4, "neither state nor service"}}},
		{name: "xml endtime falls back to nmaprun start", input: xHead + `<host><address addr="192.0.2.1"/><ports><port protocol="tcp" portid="80"><state state="open"/></port></ports></host>` + "\n" + xTail,
			ports: []int{80}},
		{name: "xml other encoding", input: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<nmaprun scanner=\"masscan\"></nmaprun>\n",
			fatal: "ISO-8859-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs, bad, err := portolan.ReadAll(masscan.NewReader(strings.NewReader(tc.input), tc.opts))
			var ports []int
			for _, o := range obs {
				ports = append(ports, o.Port)
			}
			if diff := cmp.Diff(tc.ports, ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			if len(bad) != len(tc.bad) {
				t.Errorf("record errors %v, want %v", bad, tc.bad)
			} else {
				for i, b := range bad {
					if b.Line != tc.bad[i].line || !strings.Contains(b.Reason, tc.bad[i].reason) || b.Offset < 0 {
						t.Errorf("record error %d: %v (offset %d), want %v", i, b, b.Offset, tc.bad[i])
					}
				}
			}
			switch {
			case tc.fatal == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.fatal != "" && (err == nil || !strings.Contains(err.Error(), tc.fatal)):
				t.Errorf("error %v, want one containing %q", err, tc.fatal)
			case tc.fatal != "":
				var pe *masscan.ParseError
				if !errors.As(err, &pe) && !strings.Contains(tc.fatal, "read") {
					t.Errorf("error %T, want *masscan.ParseError", err)
				}
			}
		})
	}
}

// TestReadError checks that a failing reader ends the input with its error,
// not a record error, after the observations gathered until then.
func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, tc := range []struct{ format, input string }{
		{masscan.FormatList, "open tcp 80 192.0.2.1 100\n"},
		{masscan.FormatNDJSON, ndOpen80 + "\n"},
		{masscan.FormatJSON, "[\n" + jOpen80 + ",\n"},
		{masscan.FormatXML, xHead + xOpen80},
	} {
		t.Run(tc.format, func(t *testing.T) {
			in := io.MultiReader(strings.NewReader(tc.input), iotest.ErrReader(boom))
			obs, bad, err := portolan.ReadAll(masscan.NewReader(in, masscan.Options{Format: tc.format}))
			if !errors.Is(err, boom) || len(bad) != 0 {
				t.Errorf("error %v, record errors %v; want %v alone", err, bad, boom)
			}
			if len(obs) != 1 || obs[0].Port != 80 {
				t.Errorf("observations %v, want port 80", obs)
			}
			// The error sticks.
			r := masscan.NewReader(io.MultiReader(strings.NewReader(tc.input), iotest.ErrReader(boom)), masscan.Options{Format: tc.format})
			portolan.ReadAll(r)
			if _, err := r.Read(); !errors.Is(err, boom) {
				t.Errorf("second Read after the error: %v", err)
			}
		})
	}
}

// TestLongLineBoundary checks lines just under, at and over the limit.
func TestLongLineBoundary(t *testing.T) {
	line := "banner tcp 80 192.0.2.1 100 http "
	for _, n := range []int{99, 100, 101} {
		input := line + strings.Repeat("x", n-len(line)) + "\r\n"
		_, bad, err := portolan.ReadAll(masscan.NewReader(bytes.NewReader([]byte(input)), masscan.Options{MaxLineBytes: 100}))
		if err != nil || (n > 100) != (len(bad) == 1) {
			t.Errorf("line of %d bytes, limit 100: record errors %v, error %v", n, bad, err)
		}
	}
}
