// SPDX-License-Identifier: Apache-2.0

package nmap_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/nmap"
)

// readSample reads testdata/<name> to the end, failing on any error: the
// samples are real, well-formed nmap output, which Sniff must recognise.
func readSample(t *testing.T, name string) []*portolan.Observation {
	t.Helper()
	data := ingesttest.ReadTestdata(t, name)
	if !nmap.Sniff(ingesttest.Head(data)) {
		t.Errorf("Sniff(%s) = false", name)
	}
	return ingesttest.MustReadAll(t, nmap.NewReader(bytes.NewReader(data)))
}

// TestGolden compares the observations of each testdata/<case>.xml with
// testdata/<case>.golden.json. Run with -update to rewrite the golden files,
// then check the diff by hand against the XML.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".xml")
		t.Run(name, func(t *testing.T) {
			ingesttest.Golden(t, name, readSample(t, name+".xml"))
		})
	}
}

// TestSampleFacts pins, independently of the golden files, what the samples
// are known to contain (see /work/shared/samples/README.md).
func TestSampleFacts(t *testing.T) {
	byPort := func(obs []*portolan.Observation) map[int]*portolan.Observation {
		m := make(map[int]*portolan.Observation)
		for _, o := range obs {
			if o.Host != "127.0.0.1" || o.Protocol != portolan.TCP || o.Source != "nmap" {
				t.Errorf("unexpected observation %+v", o)
			}
			if !cmp.Equal(o.Hostnames, []string{"localhost"}) {
				t.Errorf("port %d: hostnames %q, want [localhost]", o.Port, o.Hostnames)
			}
			m[o.Port] = o
		}
		return m
	}

	first := byPort(readSample(t, "nmap_sV_scripts_5ports.xml"))
	rescan := byPort(readSample(t, "nmap_sV_scripts_5ports_rescan_18080_closed.xml"))
	for _, scan := range []struct {
		name          string
		ports         map[int]*portolan.Observation
		seen, scanned int64
	}{
		{"first scan", first, 1795780462, 1795780507},
		{"rescan", rescan, 1795781441, 1795781493},
	} {
		if len(scan.ports) != 5 {
			t.Errorf("%s: %d ports, want 5", scan.name, len(scan.ports))
		}
		for port, o := range scan.ports {
			if !o.SeenAt.Equal(time.Unix(scan.seen, 0)) || !o.ScannedAt.Equal(time.Unix(scan.scanned, 0)) {
				t.Errorf("%s port %d: times %v..%v", scan.name, port, o.SeenAt, o.ScannedAt)
			}
		}
		ssh := scan.ports[18022]
		wantSSH := []portolan.Component{
			{Name: "OpenSSH", Version: "9.2p1", Category: "Remote Access"},
			{Name: "Debian", Version: "", Category: "Operating System"},
			{Name: "Linux", Version: "", Category: "Operating System"},
		}
		if diff := cmp.Diff(wantSSH, ssh.Components); diff != "" {
			t.Errorf("%s 18022 components (-want +got):\n%s", scan.name, diff)
		}
		if ssh.Banner != "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10" || ssh.ScanProtocol != "ssh" {
			t.Errorf("%s 18022: banner %q, scanProtocol %q", scan.name, ssh.Banner, ssh.ScanProtocol)
		}
		for _, port := range []int{18443, 18444} {
			o := scan.ports[port]
			if o.ScanProtocol != "ssl/http" {
				t.Errorf("%s %d: scanProtocol %q, want ssl/http", scan.name, port, o.ScanProtocol)
			}
			if len(o.Certificate) == 0 || portolan.CertificateDigest(o.Certificate) != ingesttest.LabCertSHA1 {
				t.Errorf("%s %d: certificate SHA-1 %s, want %s", scan.name, port, portolan.CertificateDigest(o.Certificate), ingesttest.LabCertSHA1)
			}
		}
		if o := scan.ports[18081]; o.Banner != "Server: nginx/1.22.1" {
			t.Errorf("%s 18081: banner %q", scan.name, o.Banner)
		}
	}
	if o := first[18080]; o.Status != portolan.StatusOpen || o.Banner != "Server: SimpleHTTP/0.6 Python/3.11.7" {
		t.Errorf("first scan 18080: %+v", o)
	}
	want18080 := &portolan.Observation{
		Host: "127.0.0.1", Port: 18080, Protocol: portolan.TCP, Status: portolan.StatusClosed,
		SeenAt: time.Unix(1795781441, 0).UTC(), ScannedAt: time.Unix(1795781493, 0).UTC(),
		Source: "nmap", Hostnames: []string{"localhost"},
	}
	if diff := cmp.Diff(want18080, rescan[18080]); diff != "" {
		t.Errorf("rescan 18080 (-want +got):\n%s", diff)
	}
}

// TestBrokersCapture pins what the -sV -sC capture of the machine's message
// brokers and databases gives once recognised: NATS, which nmap 7.93 cannot
// name, by the INFO line of its fingerprint; Mosquitto by the $SYS topics
// mqtt-subscribe printed (nmap puts "mosquitto version 2.0.11" where the
// service name goes); the others by -sV's product and version.
func TestBrokersCapture(t *testing.T) {
	c := func(name, version, category string) portolan.Component {
		return portolan.Component{Name: name, Version: version, Category: category}
	}
	want := map[int][]portolan.Component{
		1883: {c("Mosquitto", "2.0.11", "Message Broker")},
		3306: {c("Debian", "", "Operating System"), c("MariaDB", "10.11.19", "Database")},
		4222: {c("NATS Server", "2.9.10", "Message Broker")},
		5432: {c("PostgreSQL", "", "Database")},
		5672: {c("RabbitMQ", "3.10.8", "Message Broker")},
		6379: {c("Redis", "7.0.15", "Database")},
	}
	r := fingerprint.Default()
	open := 0
	for _, o := range readSample(t, "nmap_sV_sC_brokers.xml") {
		if o.Status != portolan.StatusOpen {
			continue
		}
		open++
		got := r.Recognize(o)
		slices.SortFunc(got, func(a, b portolan.Component) int { return strings.Compare(a.Name, b.Name) })
		if len(got) == 0 {
			got = nil
		}
		if diff := cmp.Diff(want[o.Port], got); diff != "" {
			t.Errorf("port %d (-want +got):\n%s", o.Port, diff)
		}
		switch o.Port {
		case 4222:
			if !strings.HasPrefix(o.Banner, `INFO {"server_id":"NAG53HCB3IILCI5Q7SUIBNRTTVNNP6YZAHY7QSM7VGWRFVK3HLSEM32L",`) || !strings.HasSuffix(o.Banner, "} \r\n") {
				t.Errorf("port 4222: banner %q, want the NULL probe's INFO line", o.Banner)
			}
		case 1883:
			if o.ScanProtocol != "mqtt" || !strings.Contains(o.Banner, "$SYS/broker/version: mosquitto version 2.0.11\n") {
				t.Errorf("port 1883: scanProtocol %q, banner %q", o.ScanProtocol, o.Banner)
			}
		}
	}
	if open != 7 {
		t.Errorf("%d open ports, want 7 (25672, Erlang's distribution port, names nothing)", open)
	}
}
