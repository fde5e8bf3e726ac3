// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/scan"
)

// decodeHostsBy decodes every <host> child of the root of data, each with
// decode, until the first error of the token stream, which it returns. The
// port positions come with each host.
func decodeHostsBy(data []byte, decode func(g *scan.XMLGuard, start xml.StartElement, h *nmapHost) ([]position, error)) ([]nmapHost, [][]position, error) {
	g := scan.NewXMLGuard(source, bufio.NewReader(bytes.NewReader(data)), 0, 0)
	var hosts []nmapHost
	var ports [][]position
	for {
		tok, err := g.Token()
		if err == io.EOF {
			return hosts, ports, nil
		}
		if err != nil {
			return hosts, ports, err
		}
		if t, ok := tok.(xml.StartElement); ok && len(g.Open()) == 2 && t.Name.Local == "host" {
			var h nmapHost
			at, err := decode(g, t, &h)
			if err != nil {
				return hosts, ports, err
			}
			hosts, ports = append(hosts, h), append(ports, at)
		}
	}
}

// byHand is hostDecoder, the reader's decoder.
func byHand(g *scan.XMLGuard, start xml.StartElement, h *nmapHost) ([]position, error) {
	d := hostDecoder{guard: g}
	err := d.host(start, h)
	return d.portAt, err
}

// byReflection is what the reader did before hostDecoder: DecodeElement
// with the struct tags of nmap.go. The port positions are taken as the
// reader took them then, from the guard at each <host><ports><port>.
func byReflection(g *scan.XMLGuard, start xml.StartElement, h *nmapHost) ([]position, error) {
	m := &portMarker{guard: g}
	err := xml.NewTokenDecoder(&primed{first: start, rest: m}).Decode(h)
	return m.at, err
}

// portMarker notes where each <host><ports><port> starts, as the guard's
// tokens pass through it.
type portMarker struct {
	guard *scan.XMLGuard
	at    []position
}

func (m *portMarker) Token() (xml.Token, error) {
	tok, err := m.guard.Token()
	if t, ok := tok.(xml.StartElement); ok && t.Name.Local == "port" {
		if open := m.guard.Open(); len(open) == 4 && open[1] == "host" && open[2] == "ports" {
			line, off := m.guard.Pos()
			m.at = append(m.at, position{line: line, offset: off})
		}
	}
	return tok, err
}

// checkSameHosts requires hostDecoder to fill the structs exactly as
// DecodeElement does, and to fail where it fails, with the same error.
func checkSameHosts(t *testing.T, data []byte) {
	t.Helper()
	want, wantAt, wantErr := decodeHostsBy(data, byReflection)
	got, gotAt, gotErr := decodeHostsBy(data, byHand)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("error %v, DecodeElement's %v", gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hosts\n%+v\nDecodeElement's\n%+v", got, want)
	}
	if !reflect.DeepEqual(gotAt, wantAt) {
		t.Fatalf("port positions %v, DecodeElement's %v", gotAt, wantAt)
	}
}

// hostDecoderCases are the ways in which a decoder by hand might part from
// reflection: repetitions, prefixes, text split or nested, elements out of
// place.
var hostDecoderCases = []string{
	`<nmaprun><host starttime="1" starttime="2" x:endtime="3"><status state="up"/><status reason="r"/>` +
		`<address addr="1.2.3.4"/><address addr="::1" addrtype="ipv6" vendor="v"/>` +
		`<hostnames><hostname name="a" type="user"/><other name="b"/><hostname name="c"><hostname name="d"/></hostname></hostnames><hostnames><hostname name="e"/></hostnames>` +
		`<hostname name="not in hostnames"/>` +
		`<ports><extraports state="closed" count="9"/><port protocol="tcp" portid="1"><state state="open"/><state reason="syn-ack" reason_ttl="64"/>` +
		`<service name="http" version="1"><cpe>cpe:/a:<!-- c -->x<b>skipped</b>y</cpe><cpe/></service><service tunnel="ssl"/>` +
		`<script id="s" output="o"><elem key="k">v&amp;&#xa;<![CDATA[<c>]]></elem><table key="t"><elem key="deep">no</elem></table><elem>w</elem></script>` +
		`</port><x:port protocol="udp" portid="2"></x:port><port/></ports><ports><port portid="3"/></ports></host>` +
		`<host><ports><ports><port portid="4"/></ports></ports></host></nmaprun>`,
	`<nmaprun><host><ports><port portid="1"><service><cpe>a</cpe></service></port></ports></host><host><status></nmaprun>`,
	"<nmaprun>\n<host>\n<ports>\n<port portid=\"1\">\n</port>\n<port portid=\"2\"/></ports></host></nmaprun>",
	`<nmaprun><host><ports><port><script><elem>unterminated</script></port></ports></host></nmaprun>`,
	`<nmaprun><host><address addr="1"/>`,
}

func TestHostDecoderMatchesDecodeElement(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			checkSameHosts(t, ingesttest.ReadTestdata(t, filepath.Base(path)))
		})
	}
	for i, c := range hostDecoderCases {
		t.Run(fmt.Sprint("case", i), func(t *testing.T) {
			checkSameHosts(t, []byte(c))
		})
	}
}

// FuzzHostDecoder holds hostDecoder to DecodeElement on arbitrary input:
// the same hosts, the same port positions, the same errors.
func FuzzHostDecoder(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		f.Add(ingesttest.ReadTestdata(f, filepath.Base(path)))
	}
	for _, c := range hostDecoderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameHosts(t, data)
	})
}
