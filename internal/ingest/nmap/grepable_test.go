// SPDX-License-Identifier: Apache-2.0

package nmap_test

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/nmap"
)

func newGrepable(r io.Reader, o nmap.GrepableOptions) *nmap.GrepableReader {
	return nmap.NewGrepableReader(r, o)
}

// TestGrepableGolden compares each testdata/<case>.gnmap with its golden file.
func TestGrepableGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.gnmap"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".gnmap")
		t.Run(name, func(t *testing.T) {
			data := ingesttest.ReadTestdata(t, name+".gnmap")
			if !nmap.SniffGrepable(ingesttest.Head(data)) || nmap.Sniff(ingesttest.Head(data)) {
				t.Error("SniffGrepable does not recognise the sample, or Sniff (XML) claims it")
			}
			obs := ingesttest.MustReadAll(t, newGrepable(bytes.NewReader(data), nmap.GrepableOptions{}))
			ingesttest.Golden(t, name+"_gnmap", obs)
		})
	}
}

// TestGrepableAgreesWithXML reads the -oG and -oX files of one nmap -oA run:
// every port must have the same status, service and components; only what
// -oG does not carry may differ: banners, certificates, per-host times, and
// the operating systems named only by ostype and CPEs (an -oG port may name
// fewer, never others).
func TestGrepableAgreesWithXML(t *testing.T) {
	for _, name := range []string{"nmap_sV_db_http_tls", "nmap_sV_mail_ftp_telnet_smb_ipp_ntp", "nmap_sV_scripts_5ports"} {
		t.Run(name, func(t *testing.T) {
			grep := ingesttest.MustReadAll(t, newGrepable(bytes.NewReader(ingesttest.ReadTestdata(t, name+".gnmap")), nmap.GrepableOptions{}))
			xml := ingesttest.MustReadAll(t, nmap.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, name+".xml"))))
			strip := func(obs []*portolan.Observation) []*portolan.Observation {
				var out []*portolan.Observation
				for _, o := range obs {
					c := *o
					c.Banner, c.Certificate, c.SeenAt, c.ScannedAt = "", nil, time.Time{}, time.Time{}
					c.Components = nil
					for _, comp := range o.Components {
						if comp.Category != portolan.CategoryOperatingSystem {
							c.Components = append(c.Components, comp)
						}
					}
					out = append(out, &c)
				}
				return out
			}
			for i := range grep {
				for _, g := range grep[i].Components {
					if g.Category == portolan.CategoryOperatingSystem && !slices.Contains(xml[i].Components, g) {
						t.Errorf("port %d: -oG names %v, which -oX does not", grep[i].Port, g)
					}
				}
			}
			if diff := cmp.Diff(strip(xml), strip(grep)); diff != "" {
				t.Errorf("-oG and -oX disagree (-xml +grepable):\n%s", diff)
			}
			// The scan-initiated date is the start of the run, the time nmap
			// also writes as <nmaprun start>, to the second.
			for i := range grep {
				if grep[i].ScannedAt.After(xml[i].SeenAt) || xml[i].SeenAt.Sub(grep[i].ScannedAt) > time.Minute {
					t.Errorf("port %d: -oG time %v, -oX host start %v", grep[i].Port, grep[i].ScannedAt, xml[i].SeenAt)
				}
			}
		})
	}
}

func TestGrepableBadInput(t *testing.T) {
	head := "# Nmap 7.93 scan initiated Fri Dec  4 08:02:48 2026 as: nmap -oG - 192.0.2.1\n"
	host := "Host: 192.0.2.1 ()\tPorts: "
	ingesttest.RunBadInput(t, newGrepable, []ingesttest.BadInput[nmap.GrepableOptions]{
		{Name: "bad port between good ones", Input: head + host + "22/open/tcp//ssh//OpenSSH 9.2p1/, 23/open/tcp, 80/closed/tcp//http///\n",
			Ports: []int{22, 80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "is not port/state"}}},
		{Name: "unknown state and protocol", Input: head + host + "1/unfiltered/tcp/////, 2/open/sctp/////, 3/open|filtered/udp//domain///\n",
			Ports: []int{3}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "state"}, {Line: 2, Reason: "sctp"}}},
		{Name: "not a host line", Input: head + "Hello\n" + host + "4/open/tcp/////\n",
			Ports: []int{4}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "neither"}}},
		{Name: "no time", Input: host + "5/open/tcp/////\n" + head + host + "6/open/tcp/////\n",
			Ports: []int{6}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "--scanned-at"}}},
		{Name: "no time, given", Opts: nmap.GrepableOptions{Time: time.Unix(100, 0)}, Input: host + "7/open/tcp/////\n", Ports: []int{7}},
		{Name: "bad date", Input: "# Nmap 7.93 scan initiated yesterday as: nmap\n" + head + host + "8/open/tcp/////\n",
			Ports: []int{8}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "not nmap's"}}},
		{Name: "long line", Opts: nmap.GrepableOptions{MaxLineBytes: 100}, Input: head + host + strings.Repeat("9/open/tcp/////, ", 20) + "\n" + host + "10/open/tcp/////\n",
			Ports: []int{10}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "longer than 100"}}},
	}, nil)
}

func TestGrepableVersionInfo(t *testing.T) {
	in := "# Nmap 7.93 scan initiated Fri Dec  4 08:02:48 2026 as: nmap\n" +
		"Host: 192.0.2.1 (www.example.test)\tPorts: 80/open/tcp//http//Apache httpd 2.4.62 ((Debian))/, 25/open/tcp//smtp//Exim smtpd 4.96, with TLS/, 443/open/tcp//ssl|https?///, 123/open/udp//ntp//NTP v4 (unsynchronized)/\tIgnored State: closed (997)\n"
	obs := ingesttest.MustReadAll(t, newGrepable(strings.NewReader(in), nmap.GrepableOptions{}))
	if len(obs) != 4 {
		t.Fatalf("%d observations, want 4: %+v", len(obs), obs)
	}
	if c := obs[0].Components; len(c) < 1 || c[0].Name != "Apache httpd" || c[0].Version != "2.4.62" || obs[0].Hostnames[0] != "www.example.test" {
		t.Errorf("port 80: %+v", obs[0])
	}
	if c := obs[1].Components; len(c) != 1 || c[0].Name != "Exim smtpd" || c[0].Version != "4.96, with TLS" {
		t.Errorf("port 25 (a comma in the version does not split the entry): %+v", obs[1])
	}
	if obs[2].ScanProtocol != "ssl/https" || len(obs[2].Components) != 0 {
		t.Errorf("port 443 (nmap's \"?\" of a guessed name dropped, as -oX does): %+v", obs[2])
	}
	// -oX says product "NTP", version "v4": a version may start with "v".
	if c := obs[3].Components; len(c) != 1 || c[0].Name != "NTP" || c[0].Version != "v4" {
		t.Errorf("port 123/udp: %+v", obs[3])
	}
}

func TestSniffGrepable(t *testing.T) {
	for _, in := range []string{
		"# Nmap 7.93 scan initiated Fri Nov 27 11:54:22 2026 as: nmap -sV\nNmap scan report for localhost (127.0.0.1)\n", // -oN
		"# Masscan 1.3.2 scan initiated Fri Nov 27 12:07:20 2026\nTimestamp: 1\tHost: 127.0.0.1 ()\tPorts: 80/open/tcp//http//\n",
		`<?xml version="1.0"?><nmaprun scanner="nmap">`,
		"Host: 127.0.0.1\n",
	} {
		if nmap.SniffGrepable([]byte(in)) {
			t.Errorf("SniffGrepable(%q) = true", in)
		}
	}
}

func FuzzGrepableReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.gnmap"))
	for _, path := range files {
		f.Add(ingesttest.ReadTestdata(f, filepath.Base(path)))
	}
	f.Add([]byte("Host: 1 ()\tPorts: 1/open/tcp//a|b//x (y (z)/, 2/closed/udp/////\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		nmap.SniffGrepable(data)
		r := nmap.NewGrepableReader(bytes.NewReader(data), nmap.GrepableOptions{Time: time.Unix(1, 0)})
		for i := 0; ; i++ {
			if i > 2*len(data)+2 {
				t.Fatalf("%d results from %d bytes: the reader does not end", i, len(data))
			}
			o, err := r.Read()
			if err == io.EOF {
				return
			}
			if ie := portolan.RecordError(err); ie != nil {
				if ie.Line < 1 || ie.Offset < 0 || ie.Reason == "" {
					t.Fatalf("invalid InputError %#v", ie)
				}
				continue
			}
			if err != nil {
				t.Fatalf("an in-memory input ended with %v", err)
			}
			if o == nil || o.Source != "nmap" || !o.Status.Valid() || o.ScannedAt.IsZero() {
				t.Fatalf("invalid observation %+v", o)
			}
		}
	})
}

// TestGrepableMemoryFlat reads 64 MiB of host lines: the heap does not grow
// with them.
func TestGrepableMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 64 MiB")
	}
	in := &ingesttest.Generated{Head: "# Nmap 7.93 scan initiated Fri Dec  4 08:02:48 2026 as: nmap -sV -oG - 10.0.0.0/8\n", Size: 64 << 20,
		Record: func(i int) []byte {
			return fmt.Appendf(nil, "Host: 10.%d.%d.%d ()\tPorts: 22/open/tcp//ssh//OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)/, 80/open/tcp//http//nginx 1.22.1/\tIgnored State: closed (998)\n", i>>16&255, i>>8&255, i&255)
		}}
	ingesttest.CheckFlatMemory(t, nmap.NewGrepableReader(in, nmap.GrepableOptions{}), 4<<20)
}
