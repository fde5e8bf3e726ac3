// SPDX-License-Identifier: Apache-2.0

package nmap_test

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/nmap"
)

// FuzzReader feeds arbitrary bytes to Sniff and to a Reader, which must not
// panic, must end (each result accounts for at least one byte of input), and
// must keep to its contract: valid observations, positioned InputErrors, and
// a final error that sticks.
func FuzzReader(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		f.Add(ingesttest.ReadTestdata(f, filepath.Base(path)))
	}
	f.Add([]byte(run(host + `<ports><port protocol="udp" portid="53"><state state="open|filtered" reason="x" reason_ttl="0"/></port></ports></host>`)))
	// A damaged byte in a host, and a comment mentioning a host, after which
	// the reader resynchronises.
	f.Add([]byte(run(host + "<ports>\x00</ports></host>\n<!-- <host -->" + host + `<ports><port protocol="tcp" portid="1"><state state="open"/></port></ports></host>`)))
	f.Add([]byte(`<nmaprun start="1"><host><address addr="::1" addrtype="ipv6"/><ports><port protocol="tcp" portid="1"><state state="open"/></port></ports></host><runstats><finished time="2"/></runstats></nmaprun>`))

	f.Fuzz(func(t *testing.T, data []byte) {
		nmap.Sniff(data)
		r := nmap.NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("%d results from %d bytes: the reader does not end", i, len(data))
			}
			o, err := r.Read()
			ie := portolan.RecordError(err)
			switch {
			case err == nil:
				if o == nil || o.Source != "nmap" || o.Port < 0 || o.Port > 65535 || !o.Status.Valid() ||
					(o.Protocol != portolan.TCP && o.Protocol != portolan.UDP) || o.ScannedAt.IsZero() {
					t.Fatalf("invalid observation %+v", o)
				}
			case ie != nil:
				if o != nil || ie.Line < 1 || ie.Offset < 0 || ie.Offset > int64(len(data)) || ie.Reason == "" {
					t.Fatalf("invalid InputError %#v", ie)
				}
			default:
				if o != nil {
					t.Fatalf("an observation with error %v", err)
				}
				if _, again := r.Read(); again != err {
					t.Fatalf("Read after %v returned %v", err, again)
				}
				if err != io.EOF && err.Error() == "" {
					t.Fatal("an error without a message")
				}
				return
			}
		}
	})
}
