// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"portolan/internal/bus/bustest"
	"portolan/internal/gen"
	"portolan/internal/obslog"
)

// TestIngestBusPublishesInHostOrder: `ingest --bus` puts a file in host
// order before publishing, so that each host's observations, every scan of
// it, travel in one message (or two, where a message ends), and a worker
// writes its records once. The file has three scans of 600 hosts, one
// after the other; with --no-sort the messages follow the file, and each
// host is spread over three.
func TestIngestBusPublishesInHostOrder(t *testing.T) {
	g := gen.New(gen.Config{Seed: 3, Hosts: 600, Rescans: 3})
	file := filepath.Join(t.TempDir(), "scans.ndjson")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	total := 0
	for o := g.Next(); o != nil; o = g.Next() {
		if err := enc.Encode(o); err != nil {
			t.Fatal(err)
		}
		total++
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	server := bustest.Start(t)
	for _, tc := range []struct {
		flags         []string
		wantScattered bool
	}{
		{nil, false},
		{[]string{"--no-sort"}, true},
	} {
		stream, prefix := bustest.UniqueNames()
		args := append([]string{"ingest", "--no-progress", "--bus", server.URL, "--bus-stream", stream, "--bus-subject", prefix, "--bus-partitions", "1", "--bus-max-bytes", "8000000"}, tc.flags...)
		if _, errOut, err := run(t, nil, append(args, file)...); err != nil {
			t.Fatalf("%q: %v\n%s", args, err, errOut)
		}
		hosts := publishedHosts(t, server.URL, stream)
		if len(hosts) != total {
			t.Fatalf("%q: %d observations published, want %d", args, len(hosts), total)
		}
		// A host is contiguous when it never comes back once another
		// host has followed it.
		done, last, scattered := map[string]bool{}, "", 0
		for _, h := range hosts {
			if h != last {
				if done[h] {
					scattered++
				}
				done[last], last = true, h
			}
		}
		if tc.wantScattered != (scattered > 0) {
			t.Errorf("%q: %d hosts come back after another, want scattered %v", args, scattered, tc.wantScattered)
		}
	}
}

// publishedHosts reads every message of the stream, in order, and returns
// the host of each observation.
func publishedHosts(t *testing.T, url, stream string) []string {
	t.Helper()
	ctx := context.Background()
	s, done := openStream(t, url, stream)
	defer done()
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		obs, err := obslog.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			hosts = append(hosts, o.Host)
		}
	}
	return hosts
}
