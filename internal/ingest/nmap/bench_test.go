// SPDX-License-Identifier: Apache-2.0

package nmap_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/nmap"
)

// bigScan repeats the hosts of the real 5-port capture until the file is
// about 8 MiB, as one long nmap run.
func bigScan(b *testing.B) []byte {
	b.Helper()
	data := ingesttest.ReadTestdata(b, "nmap_sV_scripts_5ports.xml")
	start := bytes.Index(data, []byte("<host "))
	end := bytes.LastIndex(data, []byte("</host>")) + len("</host>")
	var buf bytes.Buffer
	buf.Write(data[:start])
	for buf.Len() < 8<<20 {
		buf.Write(data[start:end])
		buf.WriteByte('\n')
	}
	buf.Write(data[end:])
	return buf.Bytes()
}

// BenchmarkReader measures parse-only throughput (MB/s and observations/s)
// next to encoding/xml tokenising the same bytes, the floor of any reader
// built on it.
func BenchmarkReader(b *testing.B) {
	data := bigScan(b)
	b.Run("nmap", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			r := nmap.NewReader(bytes.NewReader(data))
			for {
				_, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil && portolan.RecordError(err) == nil {
					b.Fatal(err)
				}
				n++
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "obs/s")
	})
	b.Run("encoding-xml-tokens", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d := xml.NewDecoder(bytes.NewReader(data))
			for {
				if _, err := d.Token(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
