// SPDX-License-Identifier: Apache-2.0

package nmap_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
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
