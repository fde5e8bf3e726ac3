// SPDX-License-Identifier: Apache-2.0

package portolan_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/storetest"
)

// identityAsStored is Identity as the stores' first versions computed it,
// field by field into a hash: the identities they hold are these, so an
// observation must keep its identity for an ingest to stay a no-op.
func identityAsStored(o *portolan.Observation) [16]byte {
	h := sha256.New()
	var buf [8]byte
	writeField := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	writeField(o.Host)
	writeField(string(o.Protocol))
	for _, v := range []int64{int64(o.Port), o.SeenAt.Unix(), o.ScannedAt.Unix()} {
		binary.BigEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	writeField(o.Source)
	writeField(o.ScanProtocol)
	banner := sha256.Sum256([]byte(o.Banner))
	h.Write(banner[:])
	return [16]byte(h.Sum(nil))
}

func TestIdentityIsStable(t *testing.T) {
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(8, 8)), 300)
	obs = append(obs,
		&portolan.Observation{},
		// Past the stack buffers: a long name, a long banner.
		&portolan.Observation{Host: strings.Repeat("h", 300) + ".example", Protocol: "tcp", Port: 443, Source: "nmap",
			Banner: strings.Repeat("b", 5000), SeenAt: time.Unix(1700000000, 0), ScannedAt: time.Unix(1700000100, 0)})
	for i, o := range obs {
		if got, want := o.Identity(), identityAsStored(o); got != want {
			t.Errorf("observation %d: identity %x, stored as %x", i, got, want)
		}
	}
	o := &portolan.Observation{Host: "192.0.2.7", Protocol: "tcp", Port: 22, Source: "masscan", ScanProtocol: "ssh",
		Banner: "SSH-2.0-OpenSSH_9.6", SeenAt: time.Unix(1764547200, 0), ScannedAt: time.Unix(1764547200, 0)}
	id := o.Identity()
	if got, want := hex.EncodeToString(id[:]), "fe19880a064f487e1260551529794a9b"; got != want {
		t.Errorf("identity %s, want %s", got, want)
	}
}

func BenchmarkIdentity(b *testing.B) {
	o := &portolan.Observation{Host: "203.0.113.45", Protocol: "tcp", Port: 443, Source: "zgrab2", ScanProtocol: "https",
		Banner: "HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\nContent-Length: 612\r\n\r\n",
		SeenAt: time.Unix(1700000000, 0), ScannedAt: time.Unix(1700000000, 0)}
	b.ReportAllocs()
	for b.Loop() {
		o.Identity()
	}
}
