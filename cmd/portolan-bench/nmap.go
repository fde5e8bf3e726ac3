// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"portolan/internal/gen"
)

// ingestNmap adds the nmap rows to the ingest table: an nmap XML file of
// --nmap-hosts hosts with --nmap-ports open ports each, ingested into the
// embedded store by `portolan ingest` next to parse-only, and the nmap
// reader's parse-only next to encoding/xml tokenising the same bytes.
func (b *bench) ingestNmap(ctx context.Context, t *table) error {
	file := filepath.Join(b.dir, "ingest-nmap.xml")
	cfg := gen.Config{Seed: b.o.seed, Hosts: b.o.nmapHosts, Rescans: 1, PortsPerHost: b.o.nmapPorts}
	st, err := b.writeGenerated(ctx, file, cfg, gen.FormatNmap)
	if err != nil {
		return err
	}
	b.logf("tokenising %s with encoding/xml (the reader's baseline)", filepath.Base(file))
	tok, err := tokenizeXML(ctx, file)
	if err != nil {
		return err
	}
	b.logf("parsing %s alone", filepath.Base(file))
	parsed, err := b.parseAs(ctx, file, gen.FormatNmap)
	if err != nil {
		return err
	}
	b.logf("ingesting %s into the embedded store", filepath.Base(file))
	data := filepath.Join(b.dir, "ingest-nmap-data")
	ingested, err := b.ingestAs(ctx, file, gen.FormatNmap, "--store=", "--data", data)
	if err != nil {
		return err
	}
	os.RemoveAll(data)
	os.Remove(file)
	for _, r := range nmapRows(b.o.nmapHosts, b.o.nmapPorts, st.Bytes, ingested, parsed, tok) {
		t.add(r...)
	}
	return nil
}

// tokenFigures is what tokenising a file with encoding/xml cost.
type tokenFigures struct {
	tokens int
	wall   time.Duration
}

// tokenizeXML reads file with encoding/xml's Decoder.Token, which checks
// the syntax and unescapes but builds nothing: the least an XML reader in
// Go does.
func tokenizeXML(ctx context.Context, file string) (tokenFigures, error) {
	start := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return tokenFigures{}, err
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	n := 0
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return tokenFigures{}, fmt.Errorf("bench: encoding/xml on %s: %w", file, err)
		}
		n++
		if n%65536 == 0 && ctx.Err() != nil {
			return tokenFigures{}, ctx.Err()
		}
	}
	return tokenFigures{tokens: n, wall: time.Since(start)}, nil
}

// megabytesPerSecond is size bytes over d, in MB (10^6 bytes) per second.
func megabytesPerSecond(size int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(size) / 1e6 / d.Seconds()
}

// nmapRows are the ingest table's rows of the nmap file of hosts × ports
// (size bytes): ports/s and peak RSS of `portolan ingest` into the embedded
// store next to parse-only, and parse-only's MB/s next to encoding/xml's.
func nmapRows(hosts, ports int, size int64, ingested, parsed ingestFigures, tok tokenFigures) [][]string {
	what := fmt.Sprintf("nmap XML, %s hosts × %d ports (%s)", formatCount(hosts), ports, formatBytes(size))
	parsedMB, tokMB := megabytesPerSecond(size, parsed.run.wall), megabytesPerSecond(size, tok.wall)
	return [][]string{
		{what + ", into the embedded store: ports/s", formatCount(int(ingested.rate())),
			formatCount(int(parsed.rate())) + " parse only", formatRatio(ingested.rate(), parsed.rate())},
		{"nmap XML into the embedded store: peak RSS", formatBytes(ingested.run.maxRSS),
			formatBytes(parsed.run.maxRSS) + " parse only", formatRatio(float64(ingested.run.maxRSS), float64(parsed.run.maxRSS))},
		{"nmap reader parse-only vs encoding/xml tokens: MB/s", fmt.Sprintf("%.1f MB/s", parsedMB),
			fmt.Sprintf("%.1f MB/s encoding/xml Token()", tokMB), formatRatio(parsedMB, tokMB)},
	}
}
