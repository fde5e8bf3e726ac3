// SPDX-License-Identifier: Apache-2.0

package masscan_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/masscan"
)

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
	cases := []ingesttest.BadInput[masscan.Options]{
		{Name: "empty", Input: ""},
		{Name: "blank", Input: "\n\n  \n"},
		{Name: "unknown format", Opts: masscan.Options{Format: "gnmap"}, Input: "x", Fatal: `unknown format "gnmap"`},

		// -oL
		{Name: "list truncated line", Input: "open tcp 80 192.0.2.1 100\nopen tcp 443 192.0.2.1",
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "a status line without its time (give the scan's time with --scanned-at)"}}},
		{Name: "list line cut before the address", Input: "open tcp 80 192.0.2.1 100\nopen tcp 443",
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "fewer than 5 fields"}}},
		{Name: "list missing field", Input: "open tcp 80 192.0.2.1 100\nbanner tcp 80 192.0.2.1 100\nopen tcp 443 192.0.2.1 101\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "no service name"}}},
		{Name: "list bad numbers", Input: "open tcp http 192.0.2.1 100\nopen tcp 80 192.0.2.1 yesterday\nopen tcp 443 192.0.2.1 101\n",
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `port "http"`}, {Line: 2, Reason: `timestamp "yesterday"`}}},
		{Name: "list unknown kind", Input: "filtered tcp 80 192.0.2.1 100\nopen tcp 443 192.0.2.1 101\n",
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `unknown record kind "filtered"`}}},
		{Name: "list enormous line", Opts: masscan.Options{MaxLineBytes: 100},
			Input: "open tcp 80 192.0.2.1 100\nbanner tcp 80 192.0.2.1 100 http " + strings.Repeat("A", 200_000) + "\nopen tcp 443 192.0.2.1 101\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "longer than 100 bytes"}}},
		{Name: "list invalid UTF-8 is banner data", Input: "banner tcp 21 192.0.2.1 100 ftp 220 \xff\xfe caf\xc3\n",
			Ports: []int{21}},

		// -oD
		{Name: "ndjson invalid UTF-8", Input: ndOpen80 + "\n" + `{"ip":"192.0.2.1","timestamp":"100","port":21,"proto":"tcp","rec_type":"banner","data":{"service_name":"ftp","banner":"220 ` + "\xff" + `"}}` + "\n" + ndOpen443 + "\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "not valid UTF-8"}}},
		{Name: "ndjson missing fields", Input: `{"ip":"192.0.2.1","timestamp":"100","proto":"tcp","rec_type":"status","data":{"status":"open"}}` + "\n" +
			`{"ip":"192.0.2.1","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open"}}` + "\n" +
			`{"timestamp":"100","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open"}}` + "\n" +
			`{"ip":"192.0.2.1","timestamp":"100","port":80,"rec_type":"status","data":{}}` + "\n" + ndOpen443 + "\n",
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "no port"}, {Line: 2, Reason: "no timestamp"}, {Line: 3, Reason: "no ip"}, {Line: 4, Reason: "no data.status"}}},
		{Name: "ndjson truncated", Input: ndOpen80 + "\n" + ndOpen443[:40],
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "invalid JSON: the record ends inside a string (byte 40)"}}},
		{Name: "ndjson wrong type", Input: `{"ip":"192.0.2.1","timestamp":"100","port":"80","rec_type":"status","data":{"status":"open"}}` + "\n" + ndOpen443,
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `"port" must be a number (byte 43)`}}},
		{Name: "ndjson deeply nested", Input: ndOpen80 + "\n" + nested(100) + "\n" + ndOpen443 + "\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "deeper than 64 levels"}}},
		{Name: "ndjson enormous line", Opts: masscan.Options{MaxLineBytes: 1000},
			Input: ndOpen80 + "\n" + `{"ip":"` + strings.Repeat("1", 100_000) + `"}` + "\n" + ndOpen443 + "\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "longer than 1000 bytes"}}},

		// -oJ
		{Name: "json trailing commas", Input: "[\n" + jOpen80 + ",\n" + jOpen443 + ",\n{finished: 1}\n]\n", Ports: []int{80, 443}},
		{Name: "json appended arrays", Input: "[\n" + jOpen80 + "\n]\n[\n" + jOpen443 + "\n]\n", Ports: []int{80, 443}},
		{Name: "json pretty", Input: "[\n  {\n    \"ip\": \"192.0.2.1\",\n    \"timestamp\": 100,\n    \"ports\": [\n      {\"port\": 80, \"status\": \"open\"}\n    ]\n  }\n]\n", Ports: []int{80}},
		{Name: "json truncated", Input: "[\n" + jOpen80 + "\n,\n" + jOpen443[:30],
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: "truncated"}}},
		{Name: "json deeply nested", Input: "[\n" + jOpen80 + "\n,\n" + nested(100) + "\n,\n" + jOpen443 + "\n]\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: "deeper than 64 levels"}}},
		{Name: "json enormous record", Opts: masscan.Options{MaxLineBytes: 1000},
			Input: "[\n" + jOpen80 + "\n,\n{\"ip\": \"" + strings.Repeat("9", 50_000) + "\"}\n,\n" + jOpen443 + "\n]\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: "longer than 1000 bytes"}}},
		{Name: "json junk between records", Input: "[\n" + jOpen80 + "\n,\nnull garbage {\n" + jOpen443 + "\n]\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: `unexpected "n"`}}},
		{Name: "json invalid UTF-8", Input: "[\n" + jOpen80 + ",\n{\"ip\": \"\xff\"}\n,\n" + jOpen443 + "\n]\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 3, Reason: "not valid UTF-8"}}},
		{Name: "json no ports", Input: "[\n{\"ip\": \"192.0.2.1\", \"timestamp\": \"1\"},\n" + jOpen443 + "\n]\n",
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "no ports"}}},

		// -oX
		{Name: "xml entity declaration", Input: "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>\n<nmaprun scanner=\"masscan\">&lol2;</nmaprun>\n",
			Fatal: "line 2: XML entity declarations are refused"},
		{Name: "xml truncated inside a record", Input: xHead + xOpen80 + xOpen443[:60],
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: "ends inside this record"}}},
		{Name: "xml interrupted scan", Input: xHead + xOpen80 + xOpen443,
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 5, Reason: "ends before the XML document does"}}},
		{Name: "xml deeply nested", Input: xHead + xOpen80 + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + xOpen443 + xTail,
			Ports: []int{80}, Fatal: "line 4: elements are nested more than 64 deep"},
		// A syntax error loses its host only: reading resumes at the next.
		{Name: "xml invalid UTF-8", Input: xHead + xOpen80 + "<host endtime=\"1\"><address addr=\"\xff\"/></host>\n" + xOpen443 + xTail,
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: "XML syntax error: invalid UTF-8; the host starting on line 4 is skipped; reading resumes at the next <host>"}}},
		{Name: "xml syntax error", Input: xHead + xOpen80 + "<host endtime=1></host>\n" + xOpen443 + xTail,
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: "XML syntax error: unquoted or missing attribute value in element; reading resumes at the next <host>"}}},
		{Name: "xml damaged byte mid-file", Input: xHead + xOpen80 + strings.Replace(xOpen80, "<ports>", "<ports\x00>", 1) + "<!-- a comment -->\n\n" +
			`<host endtime="100"><ports><port protocol="tcp" portid="22"><state state="open"/></port></ports></host>` + "\n" + xOpen443 + xTail,
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{
				{Line: 4, Reason: "XML syntax error: expected attribute name in element; the host starting on line 4 is skipped"},
				{Line: 7, Reason: "no address"}, // positions are the file's after resynchronising
			}},
		{Name: "xml syntax error in the last host", Input: xHead + xOpen80 + "<host endtime=1></host>\n" + xTail,
			Ports: []int{80}, Fatal: "line 4: XML syntax error"},
		{Name: "xml enormous token", Opts: masscan.Options{MaxLineBytes: 1000},
			Input: xHead + xOpen80 + `<host endtime="1"><address addr="` + strings.Repeat("1", 5000) + `"/></host>` + "\n" + xOpen443 + xTail,
			Ports: []int{80}, Fatal: "line 4: an XML token starting here is larger than 1000 bytes"},
		{Name: "xml enormous host", Opts: masscan.Options{MaxLineBytes: 1000},
			Input: xHead + xOpen80 + `<host endtime="1"><address addr="192.0.2.9"/><ports>` + strings.Repeat(`<port protocol="tcp" portid="1"><state state="open"/></port>`, 100) + "</ports></host>\n" + xOpen443 + xTail,
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 4, Reason: "longer than 1000 bytes"}}},
		{Name: "xml missing fields", Input: xHead +
			`<host endtime="100"><ports><port protocol="tcp" portid="22"><state state="open"/></port></ports></host>` + "\n" +
			`<host endtime="100"><address addr="192.0.2.1"/><ports><port protocol="tcp" portid="ssh"><state state="open"/></port><port protocol="tcp" portid="80"/></ports></host>` + "\n" +
			xOpen443 + xTail,
			Ports: []int{443}, Bad: []ingesttest.BadRecord{{Line: 3, Reason: "no address"}, {Line: 4, Reason: `portid "ssh"`}, {Line: 4, Reason: "neither state nor service"}}},
		{Name: "xml endtime falls back to nmaprun start", Input: xHead + `<host><address addr="192.0.2.1"/><ports><port protocol="tcp" portid="80"><state state="open"/></port></ports></host>` + "\n" + xTail,
			Ports: []int{80}},
		{Name: "xml other encoding", Input: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<nmaprun scanner=\"masscan\"></nmaprun>\n",
			Fatal: "ISO-8859-1"},
	}
	ingesttest.RunBadInput(t, masscan.NewReader, cases, func(t *testing.T, fatal string, err error) {
		var ie *portolan.InputError
		if (!errors.As(err, &ie) || !ie.Fatal) && !strings.Contains(fatal, "read") {
			t.Errorf("error %T, want a fatal *portolan.InputError", err)
		}
	})
}

// TestReadError checks that a failing reader ends the input with its error,
// not a record error, after the observations gathered until then.
func TestReadError(t *testing.T) {
	for _, tc := range []struct{ format, input string }{
		{masscan.FormatList, "open tcp 80 192.0.2.1 100\n"},
		{masscan.FormatNDJSON, ndOpen80 + "\n"},
		{masscan.FormatJSON, "[\n" + jOpen80 + ",\n"},
		{masscan.FormatXML, xHead + xOpen80},
	} {
		t.Run(tc.format, func(t *testing.T) {
			ingesttest.CheckReadError(t, masscan.NewReader, masscan.Options{Format: tc.format}, tc.input, []int{80})
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
