// SPDX-License-Identifier: Apache-2.0

// The benchmarks of Delta.Add, the merge of one observation; `portolan
// bench` (cmd/portolan/bench.go) is the end-to-end harness and the README
// its latest figures.

package merge_test

import (
	"testing"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/gen"
	"portolan/internal/merge"
)

// batch is the ingest pipeline's batch size: a store folds one batch into
// one Delta.
const batch = 20000

// BenchmarkDeltaAdd measures merge.Delta.Add, the fold of one observation
// into a batch's Delta, with the embedded fingerprint rules the stores use.
// A new Delta is started every 20,000 observations, as in ingest. "mix" is
// the realistic mix of internal/gen (rescans, 30% banners, 5% certificates);
// the others isolate one kind of observation.
func BenchmarkDeltaAdd(b *testing.B) {
	var mix, plain, banner, cert []*portolan.Observation
	g := gen.New(gen.Config{Seed: 1, Hosts: 4000, Rescans: 5})
	for o := g.Next(); o != nil; o = g.Next() {
		if err := o.Normalize(); err != nil {
			b.Fatal(err)
		}
		mix = append(mix, o)
		switch {
		case o.Status != portolan.StatusOpen:
		case len(o.Certificate) > 0:
			cert = append(cert, o)
		case len(o.Banner) > 5 && o.Banner[:5] == "HTTP/":
			banner = append(banner, o)
		case o.Banner == "":
			plain = append(plain, o)
		}
	}
	rec := fingerprint.Default()
	for _, c := range []struct {
		name string
		obs  []*portolan.Observation
	}{{"mix", mix}, {"open-plain", plain}, {"open-http-banner", banner}, {"open-certificate", cert}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			d := merge.NewDelta()
			i := 0
			for b.Loop() {
				if i%batch == 0 {
					d = merge.NewDelta()
				}
				d.Add(c.obs[i%len(c.obs)], rec)
				i++
			}
		})
	}
}
