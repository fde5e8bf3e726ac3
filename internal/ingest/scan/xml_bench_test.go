// SPDX-License-Identifier: Apache-2.0

package scan_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"

	"portolan/internal/ingest/scan"
)

// BenchmarkXMLGuard measures the guard's tokens alone, next to
// encoding/xml's RawToken and Token over the same bytes: the hosts of a real
// nmap capture repeated to about 8 MiB, as nmap's BenchmarkReader does.
func BenchmarkXMLGuard(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "nmap", "testdata", "nmap_sV_scripts_5ports.xml"))
	if err != nil {
		b.Fatal(err)
	}
	start := bytes.Index(data, []byte("<host "))
	end := bytes.LastIndex(data, []byte("</host>")) + len("</host>")
	var buf bytes.Buffer
	buf.Write(data[:start])
	for buf.Len() < 8<<20 {
		buf.Write(data[start:end])
		buf.WriteByte('\n')
	}
	buf.Write(data[end:])
	data = buf.Bytes()

	run := func(b *testing.B, next func(io.Reader) func() (xml.Token, error)) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			token := next(bytes.NewReader(data))
			for {
				if _, err := token(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("guard", func(b *testing.B) {
		run(b, func(r io.Reader) func() (xml.Token, error) {
			return scan.NewXMLGuard("nmap", bufio.NewReader(r), 0, 0).Token
		})
	})
	b.Run("encoding-xml-rawtoken", func(b *testing.B) {
		run(b, func(r io.Reader) func() (xml.Token, error) { return xml.NewDecoder(r).RawToken })
	})
	b.Run("encoding-xml-token", func(b *testing.B) {
		run(b, func(r io.Reader) func() (xml.Token, error) { return xml.NewDecoder(r).Token })
	})
}
