// SPDX-License-Identifier: Apache-2.0

package nmap_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/ingest/nmap"
)

const (
	runStart = 1795780000 // <nmaprun start> of run()
	finished = 1795780100 // <finished time> of run()
)

// run wraps body in an nmap document whose body starts on line 4.
func run(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -oX - 192.0.2.1" start="1795780000" version="7.93" xmloutputversion="1.05">
` + body + `
<runstats><finished time="1795780100" elapsed="100" exit="success"/><hosts up="1" down="0" total="1"/></runstats>
</nmaprun>
`
}

func at(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// obs is an observation of 192.0.2.1 by nmap, between the times of the host
// line used by most cases.
func obs(port int, proto portolan.Protocol, status portolan.HostPortStatus) *portolan.Observation {
	return &portolan.Observation{
		Host: "192.0.2.1", Port: port, Protocol: proto, Status: status,
		SeenAt: at(1795780010), ScannedAt: at(1795780020), Source: "nmap",
	}
}

// result is everything a Reader returned: observations, record errors (as
// their Error strings, which carry the line) and the error that stopped it.
type result struct {
	Obs []*portolan.Observation
	Bad []string
	Err string
}

func readAll(t *testing.T, input string) (result, error) {
	t.Helper()
	obs, bad, err := portolan.ReadAll(nmap.NewReader(strings.NewReader(input)))
	res := result{Obs: obs}
	for _, e := range bad {
		res.Bad = append(res.Bad, e.Error())
	}
	if err != nil {
		res.Err = err.Error()
	}
	return res, err
}

const host = `<host starttime="1795780010" endtime="1795780020"><status state="up" reason="syn-ack"/>
<address addr="192.0.2.1" addrtype="ipv4"/>`

func TestRead(t *testing.T) {
	truncated := run(host + `<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>
` + host + `<ports><port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>`)
	cases := []struct {
		name  string
		input string
		want  result
	}{
		{
			name: "UDP port",
			input: run(host + `<ports>
<port protocol="udp" portid="161"><state state="open" reason="udp-response" reason_ttl="64"/><service name="snmp" method="probed" conf="10"/></port>
</ports></host>`),
			want: result{Obs: []*portolan.Observation{
				func() *portolan.Observation {
					o := obs(161, portolan.UDP, portolan.StatusOpen)
					o.ScanProtocol = "snmp"
					return o
				}(),
			}},
		},
		{
			name: "open|filtered and closed|filtered are filtered",
			input: run(host + `<ports>
<port protocol="udp" portid="53"><state state="open|filtered" reason="no-response" reason_ttl="0"/></port>
<port protocol="tcp" portid="25"><state state="closed|filtered" reason="no-response" reason_ttl="0"/></port>
<port protocol="tcp" portid="23"><state state="filtered" reason="no-response" reason_ttl="0"/></port>
<port protocol="tcp" portid="22"><state state="closed" reason="reset" reason_ttl="64"/></port>
</ports></host>`),
			want: result{Obs: []*portolan.Observation{
				obs(53, portolan.UDP, portolan.StatusFiltered),
				obs(25, portolan.TCP, portolan.StatusFiltered),
				obs(23, portolan.TCP, portolan.StatusFiltered),
				obs(22, portolan.TCP, portolan.StatusClosed),
			}},
		},
		{
			name: "without host times, nmaprun start and finished time",
			input: run(`<host><status state="up" reason="user-set"/>
<address addr="192.0.2.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>
<host starttime="1795780030"><status state="up" reason="user-set"/>
<address addr="192.0.2.2" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>
<host starttime="1795780040" endtime="1795780050"><status state="up" reason="user-set"/>
<address addr="192.0.2.3" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>`),
			// Hosts with their own endtime come first: the others
			// wait for <runstats>.
			want: result{Obs: []*portolan.Observation{
				{Host: "192.0.2.3", Port: 80, Protocol: "tcp", Status: "open", SeenAt: at(1795780040), ScannedAt: at(1795780050), Source: "nmap"},
				{Host: "192.0.2.1", Port: 80, Protocol: "tcp", Status: "open", SeenAt: at(runStart), ScannedAt: at(finished), Source: "nmap"},
				{Host: "192.0.2.2", Port: 80, Protocol: "tcp", Status: "open", SeenAt: at(1795780030), ScannedAt: at(finished), Source: "nmap"},
			}},
		},
		{
			name: "times missing entirely",
			input: `<?xml version="1.0"?>
<nmaprun scanner="nmap">
<host><status state="up" reason="user-set"/><address addr="192.0.2.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>
</nmaprun>`,
			want: result{Bad: []string{
				"nmap: line 4: 192.0.2.1 port 80/tcp: times cannot be determined: the host has no endtime and the scan has no <runstats><finished time>",
			}},
		},
		{
			name: "a finish time that is not a number",
			input: `<nmaprun scanner="nmap" start="1795780000">
<host><status state="up" reason="user-set"/><address addr="192.0.2.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>
<runstats><finished time="soon"/></runstats>
</nmaprun>`,
			want: result{Bad: []string{
				`nmap: line 3: 192.0.2.1 port 80/tcp: times cannot be determined: the host has no endtime and finished time soon is not a number of Unix seconds`,
			}},
		},
		{
			name: "a host endtime that is not a number",
			input: run(`<host starttime="1795780010" endtime="-5"><status state="up" reason="syn-ack"/>
<address addr="192.0.2.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>`),
			want: result{Bad: []string{
				"nmap: line 6: 192.0.2.1 port 80/tcp: times cannot be determined: host endtime -5 is not a number of Unix seconds",
			}},
		},
		{
			name: "IPv6 address, MAC address ignored, hostnames user and PTR",
			input: run(`<host starttime="1795780010" endtime="1795780020"><status state="up" reason="nd-response"/>
<address addr="00:11:22:33:44:55" addrtype="mac" vendor="Acme"/>
<address addr="2001:db8::1" addrtype="ipv6"/>
<hostnames><hostname name="www.example.test" type="user"/><hostname name="host1.example.test" type="PTR"/></hostnames>
<ports><port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>`),
			want: result{Obs: []*portolan.Observation{{
				Host: "2001:db8::1", Port: 443, Protocol: "tcp", Status: "open",
				SeenAt: at(1795780010), ScannedAt: at(1795780020), Source: "nmap",
				Hostnames: []string{"www.example.test", "host1.example.test"},
			}}},
		},
		{
			name: "address without addrtype is ipv4",
			input: run(`<host starttime="1795780010" endtime="1795780020"><status state="up" reason="syn-ack"/><address addr="192.0.2.1"/>
<ports><port protocol="tcp" portid="22"><state state="closed" reason="reset" reason_ttl="64"/></port></ports></host>`),
			want: result{Obs: []*portolan.Observation{obs(22, portolan.TCP, portolan.StatusClosed)}},
		},
		{
			name: "a host with only a MAC address",
			input: run(`<host starttime="1795780010" endtime="1795780020"><status state="up" reason="arp-response"/>
<address addr="00:11:22:33:44:55" addrtype="mac"/>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>`),
			want: result{Bad: []string{"nmap: line 6: host port 22/tcp: the host has no ipv4 or ipv6 address"}},
		},
		{
			name: "a down host and extraports give nothing",
			input: run(`<host><status state="down" reason="no-response" reason_ttl="0"/>
<address addr="192.0.2.9" addrtype="ipv4"/></host>
` + host + `<ports><extraports state="closed" count="998"><extrareasons reason="resets" count="998"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>`),
			want: result{Obs: []*portolan.Observation{obs(22, portolan.TCP, portolan.StatusOpen)}},
		},
		{
			name: "unfiltered is an InputError and reading continues",
			input: run(host + `<ports>
<port protocol="tcp" portid="80"><state state="unfiltered" reason="reset" reason_ttl="64"/></port>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>
` + host + `<ports><port protocol="tcp" portid="8080"><state state="closed" reason="reset" reason_ttl="64"/></port></ports></host>`),
			want: result{
				Obs: []*portolan.Observation{obs(443, portolan.TCP, portolan.StatusOpen), obs(8080, portolan.TCP, portolan.StatusClosed)},
				Bad: []string{`nmap: line 6: 192.0.2.1 port 80/tcp: state unfiltered is not open, closed or filtered`},
			},
		},
		{
			name: "sctp, IP protocol scan and bad port numbers are InputErrors",
			input: run(host + `<ports>
<port protocol="sctp" portid="2905"><state state="open" reason="init-ack" reason_ttl="64"/></port>
<port protocol="ip" portid="6"><state state="open" reason="proto-response" reason_ttl="64"/></port>
<port protocol="tcp" portid="65536"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
<port protocol="tcp" portid="http"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
<port protocol="tcp" portid="0"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>`),
			want: result{
				Obs: []*portolan.Observation{obs(0, portolan.TCP, portolan.StatusOpen)},
				Bad: []string{
					"nmap: line 6: 192.0.2.1 port 2905/sctp: protocol sctp is not supported (only tcp and udp)",
					"nmap: line 7: 192.0.2.1 port 6/ip: protocol ip is not supported (only tcp and udp)",
					"nmap: line 8: 192.0.2.1 port 65536/tcp: portid 65536 is not a port number",
					"nmap: line 9: 192.0.2.1 port http/tcp: portid http is not a port number",
				},
			},
		},
		{
			name: "a hostile value is quoted and cut in the reason",
			input: run(host + `<ports>
<port protocol="tcp" portid="1"><state state="open&#xa;line 1: forged" reason="x" reason_ttl="0"/></port>
</ports></host>`),
			want: result{Bad: []string{`nmap: line 6: 192.0.2.1 port 1/tcp: state "open\nline 1: forged" is not open, closed or filtered`}},
		},
		{
			name: "a PEM with no certificate is an InputError",
			input: run(host + `<ports>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="64"/><script id="ssl-cert" output="x"><elem key="pem">-----BEGIN PRIVATE KEY-----&#xa;AAAA&#xa;-----END PRIVATE KEY-----&#xa;</elem></script></port>
</ports></host>`),
			want: result{Bad: []string{"nmap: line 6: 192.0.2.1 port 443/tcp: ssl-cert pem: certificate is PEM but holds no CERTIFICATE block"}},
		},
		{
			name:  "entity declarations are refused",
			input: "<?xml version=\"1.0\"?>\n<!DOCTYPE nmaprun [\n<!ENTITY lol \"lol\">\n<!ENTITY lol2 \"&lol;&lol;&lol;\">\n]>\n<nmaprun scanner=\"nmap\">&lol2;</nmaprun>",
			want:  result{Err: "nmap: line 2: XML entity declarations are refused (a billion-laughs file expands a few bytes into gigabytes)"},
		},
		{
			name:  "excessive depth",
			input: run(host + strings.Repeat("<a>\n", 100) + strings.Repeat("</a>", 100) + "</host>"),
			// nmaprun and host are 2 levels; the 63rd <a> is the
			// 65th level, on line 5+62.
			want: result{Err: "nmap: line 67: elements are nested more than 64 deep"},
		},
		{
			name:  "truncated file",
			input: truncated[:strings.Index(truncated, `portid="80"`)],
			want: result{
				Obs: []*portolan.Observation{obs(22, portolan.TCP, portolan.StatusOpen)},
				Err: "nmap: line 7: XML syntax error: unexpected EOF",
			},
		},
		{
			name: "truncated before runstats: the held ports are reported",
			input: `<nmaprun scanner="nmap" start="1795780000">
<host><status state="up" reason="user-set"/><address addr="192.0.2.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port>
</ports></host>
`,
			want: result{
				Bad: []string{"nmap: line 3: 192.0.2.1 port 80/tcp: times cannot be determined: the host has no endtime and the input broke off before <runstats><finished time>"},
				Err: "nmap: line 5: XML syntax error: unexpected EOF",
			},
		},
		{
			name:  "mismatched tags",
			input: run(host + "<ports></host>"),
			want:  result{Bad: []string{"nmap: line 5: XML syntax error: element <ports> closed by </host>; the host starting on line 4 is skipped; reading resumes at the next <runstats>"}},
		},
		{
			name:  "undefined entity",
			input: run(host + "&nbsp;</host>"),
			want:  result{Bad: []string{"nmap: line 5: XML syntax error: invalid character entity &nbsp;; the host starting on line 4 is skipped; reading resumes at the next <runstats>"}},
		},
		{
			name:  "syntax error with nothing after it",
			input: run(host + "&nbsp;</host>")[:strings.Index(run(""), "\n<runstats>")+len(host)+13],
			want:  result{Err: "nmap: line 5: XML syntax error: invalid character entity &nbsp;"},
		},
		{
			name:  "another root element",
			input: `<?xml version="1.0"?>` + "\n" + `<rss version="2.0"><channel/></rss>`,
			want:  result{Err: "nmap: line 2: the root element is <rss>, not <nmaprun>: this is not nmap XML output"},
		},
		{
			name:  "empty input",
			input: "",
			want:  result{Err: "nmap: line 1: no <nmaprun> element: this is not nmap XML output"},
		},
		{
			name:  "an nmap run without hosts",
			input: run(""),
			want:  result{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := readAll(t, c.input)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadPositions checks the offsets of record and fatal InputErrors, which
// the line-based cases above do not show.
func TestReadPositions(t *testing.T) {
	input := run(host + `<ports>
<port protocol="tcp" portid="80"><state state="unfiltered" reason="reset" reason_ttl="64"/></port>
</ports></host>`)
	r := nmap.NewReader(strings.NewReader(input))
	_, err := r.Read()
	var ie *portolan.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("Read: %v, want an InputError", err)
	}
	if !strings.HasPrefix(input[ie.Offset:], `<port protocol="tcp" portid="80">`) {
		t.Errorf("InputError offset %d points at %.20q", ie.Offset, input[ie.Offset:])
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read after the last port: %v, want io.EOF", err)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read after io.EOF: %v, want io.EOF again", err)
	}

	input = "<nmaprun>\n<!DOCTYPE x [<!ENTITY a 'b'>]>"
	r = nmap.NewReader(strings.NewReader(input))
	_, err = r.Read()
	var pe *portolan.InputError
	if !errors.As(err, &pe) || !pe.Fatal {
		t.Fatalf("Read: %v, want a fatal InputError", err)
	}
	if pe.Line != 2 || !strings.HasPrefix(input[pe.Offset:], "<!DOCTYPE") {
		t.Errorf("fatal InputError at line %d offset %d, want line 2 at <!DOCTYPE", pe.Line, pe.Offset)
	}
	if _, again := r.Read(); again != err {
		t.Errorf("Read after a fatal error: %v, want the same error", again)
	}
}

// TestReadHostTooLarge feeds a host whose text passes 16 MiB; reading must
// stop there, with the host's line, instead of buffering it all.
func TestReadHostTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 17 MiB")
	}
	head := strings.NewReader(run("")[:strings.Index(run(""), "\n<runstats>")] + host + `<ports><port protocol="tcp" portid="80"><state state="open" reason="x" reason_ttl="0"/><script id="banner" output="`)
	filler := io.LimitReader(repeatReader('A'), 17<<20)
	tail := strings.NewReader(`"/></port></ports></host></nmaprun>`)
	_, _, err := portolan.ReadAll(nmap.NewReader(io.MultiReader(head, filler, tail)))
	want := "nmap: line 4: the <host> element starting here is larger than 16 MiB"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// TestReadTokenTooLarge feeds a comment of 17 MiB outside any host.
func TestReadTokenTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 17 MiB")
	}
	head := strings.NewReader("<nmaprun scanner=\"nmap\">\n<!--")
	filler := io.LimitReader(repeatReader('A'), 17<<20)
	_, _, err := portolan.ReadAll(nmap.NewReader(io.MultiReader(head, filler, strings.NewReader("--></nmaprun>"))))
	want := "nmap: line 2: an XML token starting here is larger than 16 MiB"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

// TestReadPendingBudget checks that hosts waiting for <runstats> are held
// only up to a bound: a host past it is rejected whole, and the hosts that
// have their own times are unaffected.
func TestReadPendingBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<host><status state="up" reason="user-set"/><address addr="192.0.2.1" addrtype="ipv4"/><ports>` + "\n")
	for port := range 10001 {
		fmt.Fprintf(&b, `<port protocol="tcp" portid="%d"><state state="closed" reason="reset" reason_ttl="64"/></port>`+"\n", port)
	}
	b.WriteString("</ports></host>\n" + host + `<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>`)
	res, err := readAll(t, run(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*portolan.Observation{obs(22, portolan.TCP, portolan.StatusOpen)}, res.Obs); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
	if len(res.Bad) != 10001 {
		t.Fatalf("%d InputErrors, want 10001", len(res.Bad))
	}
	want := "nmap: line 5: 192.0.2.1 port 0/tcp: times cannot be determined: the host has no endtime, and too many ports (over 10000, or 16 MiB of XML) already wait for <runstats><finished time>"
	if res.Bad[0] != want {
		t.Errorf("first InputError:\n got %s\nwant %s", res.Bad[0], want)
	}
}

// repeatReader is an endless stream of one byte.
type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestReadFailingReader checks that an error of the underlying reader stops
// reading and is kept in the chain.
func TestReadFailingReader(t *testing.T) {
	boom := errors.New("disk on fire")
	in := io.MultiReader(strings.NewReader(run(host + `<ports><port protocol="tcp" portid="22"><state state="open" reason="x" reason_ttl="0"/></port></ports></host>`)[:200]), errReader{boom})
	_, _, err := portolan.ReadAll(nmap.NewReader(in))
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want one wrapping %v", err, boom)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestSniff(t *testing.T) {
	cases := []struct {
		name string
		head string
		want bool
	}{
		{"nmap", `<?xml version="1.0" encoding="UTF-8"?>` + "\n<!DOCTYPE nmaprun>\n" + `<?xml-stylesheet href="nmap.xsl" type="text/xsl"?>` + "\n<!-- Nmap 7.93 scan -->\n" + `<nmaprun scanner="nmap" args="nmap" start="1">`, true},
		{"with a byte order mark", "\xef\xbb\xbf<nmaprun scanner=\"nmap\">", true},
		{"no scanner attribute", "<nmaprun start=\"1\">", true},
		{"head cut inside the prolog after the doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE nmaprun>\n<!-- Nmap 7.93 scan initiated", true},
		{"head cut inside the root tag", "<?xml version=\"1.0\"?><nmaprun args=\"nmap -p 1-65535", true},
		{"head cut inside the scanner value", "<nmaprun scanner=\"nm", true},
		{"masscan", `<?xml version="1.0"?>` + "\n<!-- masscan v1.0 scan -->\n" + `<nmaprun scanner="masscan" start="1795781176" version="1.0-BETA"  xmloutputversion="1.03">`, false},
		{"masscan, single quotes", `<nmaprun scanner='masscan'>`, false},
		{"scanner inside another attribute", `<nmaprun args="--scanner=masscan" scanner="nmap">`, true},
		{"another doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<nmaprun>", false},
		{"another root", `<?xml version="1.0"?><rss version="2.0">`, false},
		{"a longer root name", `<nmaprunner>`, false},
		{"prolog only", `<?xml version="1.0"?>`, false},
		{"JSON mentioning nmaprun", `{"x": "<nmaprun scanner=\"nmap\">"}`, false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := nmap.Sniff([]byte(c.head)); got != c.want {
				t.Errorf("Sniff(%q) = %v, want %v", c.head, got, c.want)
			}
		})
	}
}

// TestReadResync damages one byte of the second of three hosts: the reader
// reports it with its line, skips that host, and reads every host after it
// at their own positions, including one whose times come from <runstats>.
func TestReadResync(t *testing.T) {
	hostAt := func(port int, times string) string {
		return fmt.Sprintf(`<host%s><status state="up" reason="syn-ack"/>
<address addr="192.0.2.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="%d"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>
`, times, port)
	}
	const times = ` starttime="1795780010" endtime="1795780020"`
	damaged := strings.Replace(hostAt(23, times), `portid="23"`, "portid=\"2\x003\"", 1)
	unfiltered := `<host` + times + `><status state="up" reason="syn-ack"/>
<address addr="192.0.2.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="81"><state state="unfiltered" reason="reset" reason_ttl="64"/></port></ports></host>
`
	input := run(hostAt(22, times) + damaged + "<!-- the scan went on -->\n" + unfiltered + hostAt(80, ""))
	res, err := readAll(t, input)
	if err != nil {
		t.Fatal(err)
	}
	late := obs(80, portolan.TCP, portolan.StatusOpen)
	late.SeenAt, late.ScannedAt = at(runStart), at(finished)
	if diff := cmp.Diff([]*portolan.Observation{obs(22, portolan.TCP, portolan.StatusOpen), late}, res.Obs); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
	want := []string{
		"nmap: line 7: XML syntax error: illegal character code U+0000; the host starting on line 6 is skipped; reading resumes at the next <host>",
		"nmap: line 10: 192.0.2.1 port 81/tcp: state unfiltered is not open, closed or filtered",
	}
	if diff := cmp.Diff(want, res.Bad); diff != "" {
		t.Errorf("record errors (-want +got):\n%s", diff)
	}
	// The offsets after resynchronising are the file's.
	r := nmap.NewReader(strings.NewReader(input))
	var offsets []int64
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		var ie *portolan.InputError
		if errors.As(err, &ie) {
			offsets = append(offsets, ie.Offset)
		}
	}
	if len(offsets) != 2 || !strings.HasPrefix(input[offsets[1]:], `<port protocol="tcp" portid="81">`) {
		t.Errorf("offsets %v; the second points at %.30q, want the unfiltered <port>", offsets, input[offsets[len(offsets)-1]:])
	}
}

// TestReadHostAtLimitMemory reads one host just under the 16 MiB limit made
// of the smallest <port> elements, the worst case for memory per byte: what
// the reader holds while returning its observations must stay a small
// multiple of the limit (it was over ten times it when a host's
// observations were all built at once).
func TestReadHostAtLimitMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 16 MiB")
	}
	doc := run(host + "<ports>\x00</ports></host>")
	head, tail, _ := strings.Cut(doc, "\x00")
	r := nmap.NewReader(&portsReader{head: head, tail: tail, size: 16<<20 - len(head) - len(tail) - 100})
	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	n := 0
	var held uint64
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 1 || n == 100000 {
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			held = max(held, m.HeapAlloc)
		}
	}
	if n < 150000 {
		t.Fatalf("%d observations, want the host's %d-odd ports", n, 16<<20/90)
	}
	const limit = 3 * 16 << 20
	if held > limit {
		t.Errorf("the reader holds %d MiB while reading a 16 MiB host, want at most %d MiB", held>>20, limit>>20)
	}
	t.Logf("%d observations; heap in use while reading: %d MiB (before: %d MiB)", n, held>>20, m0.HeapAlloc>>20)
}

// portsReader is a host of many small <port> elements, made as it is read,
// so that the input does not count in the heap the test measures.
type portsReader struct {
	head, tail string
	size       int // bytes of <port> elements still to make
	next       int // the next port number
	buf        []byte
}

func (g *portsReader) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.head != "":
			g.buf, g.head = []byte(g.head), ""
		case g.size > 0:
			g.buf = fmt.Appendf(nil, `<port protocol="tcp" portid="%d"><state state="open" reason="" reason_ttl=""/></port>`, g.next%65536)
			g.next++
			g.size -= len(g.buf)
		case g.tail != "":
			g.buf, g.tail = []byte(g.tail), ""
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}
