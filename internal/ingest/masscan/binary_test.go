// SPDX-License-Identifier: Apache-2.0

package masscan_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/masscan"
)

// TestBinaryAgreesWithReadscan reads each -oB capture and the -oL text that
// masscan itself made of it (masscan --readscan FILE -oL): the two must give
// the same observations, so the binary decoding agrees with masscan's own.
func TestBinaryAgreesWithReadscan(t *testing.T) {
	for name, ports := range map[string]int{"masscan_banners_80_443_oB": 2, "masscan_ns_6379_18081_18443_oB": 3} {
		bin := ingesttest.MustReadAll(t, masscan.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, name+".bin")), masscan.Options{}))
		txt := ingesttest.MustReadAll(t, masscan.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, name+"_readscan_oL.txt")), masscan.Options{}))
		if len(bin) != ports {
			t.Fatalf("%s: %d observations, want %d", name, len(bin), ports)
		}
		if diff := cmp.Diff(txt, bin); diff != "" {
			t.Errorf("%s: -oB and masscan's own -oL of it differ (-oL +oB):\n%s", name, diff)
		}
	}
}

// binFile builds a -oB file: masscan's 99-byte header, then records.
func binFile(records ...[]byte) string {
	head := make([]byte, 99)
	copy(head, "masscan/1.1\ns:100\n")
	return string(bytes.Join(append([][]byte{head}, records...), nil))
}

// binRecord frames a payload with its type and length (one byte each for
// small values, as masscan writes them; two for lengths of 128 and more).
func binRecord(typ byte, payload []byte) []byte {
	out := []byte{typ}
	if n := len(payload); n < 128 {
		out = append(out, byte(n))
	} else {
		out = append(out, byte(n>>7)|0x80, byte(n&0x7f))
	}
	return append(out, payload...)
}

// status2 is the payload of an open (6) or closed (7) IPv4 record.
func status2(ts uint32, port uint16) []byte {
	p := binary.BigEndian.AppendUint32(nil, ts)
	p = append(p, 192, 0, 2, 1, 6)
	p = binary.BigEndian.AppendUint16(p, port)
	return append(p, 0x12, 64)
}

// banner9 is the payload of an IPv4 banner record of masscan's app number.
func banner9(ts uint32, port, app uint16, text string) []byte {
	p := binary.BigEndian.AppendUint32(nil, ts)
	p = append(p, 192, 0, 2, 1, 6)
	p = binary.BigEndian.AppendUint16(p, port)
	p = binary.BigEndian.AppendUint16(p, app)
	return append(append(p, 64), text...)
}

func TestBinaryRecords(t *testing.T) {
	long := "HTTP/1.1 200 OK\r\nServer: " + strings.Repeat("x", 300)
	in := binFile(
		binRecord(6, status2(100, 80)),
		binRecord(9, banner9(103, 80, 4, long)),
		binRecord(9, banner9(104, 22, 2, "SSH-2.0-OpenSSH_9.2p1\r\n")), // banner without status: open
		binRecord(8, make([]byte, 19)),                                 // ARP: skipped
		binRecord(7, status2(105, 81)),
	)
	obs := ingesttest.MustReadAll(t, masscan.NewReader(strings.NewReader(in), masscan.Options{}))
	if len(obs) != 3 {
		t.Fatalf("%d observations, want 3: %+v", len(obs), obs)
	}
	if o := obs[0]; o.Port != 80 || o.Banner != long || o.ScanProtocol != "http" || o.SeenAt.Unix() != 100 || o.ScannedAt.Unix() != 103 {
		t.Errorf("port 80: %+v", o)
	}
	if o := obs[1]; o.Port != 22 || o.ScanProtocol != "ssh" || o.Status != "open" {
		t.Errorf("port 22: %+v", o)
	}
	if o := obs[2]; o.Port != 81 || o.Status != "closed" {
		t.Errorf("port 81: %+v", o)
	}
}

func TestBinaryAndGrepableBadInput(t *testing.T) {
	ok := binRecord(6, status2(100, 80))
	ok2 := binRecord(6, status2(101, 443))
	gOK := "# Masscan 1.3.2 scan initiated Fri Nov 27 12:07:20 2026\nTimestamp: 100\tHost: 192.0.2.1 ()\tPorts: 80/open/tcp//http//\n"
	ingesttest.RunBadInput(t, masscan.NewReader, []ingesttest.BadInput[masscan.Options]{
		{Name: "binary unknown record type is skipped", Input: binFile(ok, binRecord(42, []byte("xyz")), ok2),
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Reason: "unknown record type 42"}}},
		{Name: "binary record too short", Input: binFile(ok, binRecord(6, []byte{1, 2, 3}), ok2),
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Reason: "fewer than the 13"}}},
		{Name: "binary cut inside a record", Input: binFile(ok, ok2)[:99+len(ok)+5],
			Ports: []int{80}, Fatal: "cut short"},
		{Name: "binary cut inside the header", Input: binFile()[:50], Fatal: "inside its header"},
		{Name: "binary absurd length", Input: binFile(ok, []byte{6, 0xff, 0xff, 0xff, 0x7f}, ok2),
			Ports: []int{80}, Fatal: "more than masscan writes"},
		{Name: "binary forced on text", Opts: masscan.Options{Format: masscan.FormatBinary}, Input: "open tcp 80 192.0.2.1 100\n",
			Fatal: "binary header"},
		{Name: "grepable bad lines kept around", Input: gOK +
			"Timestamp: soon\tHost: 192.0.2.1 ()\tPorts: 81/open/tcp//http//\n" +
			"Timestamp: 101\tHost: 192.0.2.1 ()\tPorts: 82/filtered/tcp//http//\n" +
			"Timestamp: 101\tHost: 192.0.2.1 ()\tPorts: 443/open/tcp//https//\n" +
			"Host: 192.0.2.1 ()\tPort: 443\tService: ssl\tBanner: TLS/1.2 cipher:0xc02f\n" +
			"Host: 192.0.2.1 ()\tPort: x\tService: ssl\tBanner: y\n" +
			"Nothing: here\n",
			Ports: []int{80, 443}, Bad: []ingesttest.BadRecord{{Line: 3, Reason: `timestamp "soon"`}, {Line: 4, Reason: `status "filtered"`},
				{Line: 7, Reason: `port "x"`}, {Line: 8, Reason: "no Host: field"}}},
		{Name: "grepable banner before any status", Input: "# Masscan 1.3.2 scan initiated x\nHost: 192.0.2.1 ()\tPort: 22\tService: ssh\tBanner: SSH-2.0-x\n" +
			"Timestamp: 100\tHost: 192.0.2.1 ()\tPorts: 80/open/tcp//http//\n",
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "before any status line"}}},
	}, nil)
}

func TestGrepableBannerTakesUDPAndUnescapes(t *testing.T) {
	in := "# Masscan 1.3.2 scan initiated x\nTimestamp: 100\tHost: 192.0.2.1 ()\tPorts: 161/open/udp//snmp//\n" +
		"Host: 192.0.2.1 ()\tPort: 161\tService: snmp\tBanner: sysDescr:Linux\\x09box\n"
	obs := ingesttest.MustReadAll(t, masscan.NewReader(strings.NewReader(in), masscan.Options{}))
	if len(obs) != 1 || obs[0].Protocol != "udp" || obs[0].Banner != "sysDescr:Linux\tbox" {
		t.Fatalf("got %+v", obs)
	}
}

// TestMemoryFlatInRecords reads 64 MiB of -oB and of -oG records about a
// few ports: masscan's state is per distinct port (see the package
// documentation), so the heap in use once the whole input is read (at the
// first observation) stays small.
func TestMemoryFlatInRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 128 MiB")
	}
	head := make([]byte, 99)
	copy(head, "masscan/1.1\ns:100\n")
	bin := &ingesttest.Generated{Head: string(head), Size: 64 << 20, Record: func(i int) []byte {
		if i%2 == 0 {
			return binRecord(6, status2(uint32(100+i), uint16(i%8)))
		}
		return binRecord(9, banner9(uint32(100+i), uint16(i%8), 4, "HTTP/1.1 200 OK\r\nServer: nginx\r\n"))
	}}
	grep := &ingesttest.Generated{Head: "# Masscan 1.3.2 scan initiated x\n", Size: 64 << 20, Record: func(i int) []byte {
		if i%2 == 0 {
			return fmt.Appendf(nil, "Timestamp: %d\tHost: 192.0.2.1 ()\tPorts: %d/open/tcp//http//\n", 100+i, i%8)
		}
		return fmt.Appendf(nil, "Host: 192.0.2.1 ()\tPort: %d\tService: http\tBanner: HTTP/1.1 200 OK\\x0d\\x0a\n", i%8)
	}}
	for name, in := range map[string]io.Reader{"-oB": bin, "-oG": grep} {
		r := masscan.NewReader(in, masscan.Options{})
		if _, err := r.Read(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > 8<<20 {
			t.Errorf("%s: %d MiB in use after reading 64 MiB about 8 ports", name, m.HeapAlloc>>20)
		}
		t.Logf("%s: %d KiB in use after reading 64 MiB", name, m.HeapAlloc>>10)
		n := 1
		for ; ; n++ {
			if _, err := r.Read(); err != nil {
				break
			}
		}
		if n != 8 {
			t.Errorf("%s: %d observations, want 8", name, n)
		}
	}
}
