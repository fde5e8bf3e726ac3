// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMergeInstantsIsASetUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 500; trial++ {
		set := map[int64]struct{}{}
		var a, b []int64
		base := int64(1_700_000_000)
		for i := rng.IntN(20); i > 0; i-- {
			a = append(a, base+rng.Int64N(100))
		}
		for i := rng.IntN(20); i > 0; i-- {
			// Half the trials: b entirely newer than a (the append path).
			off := int64(0)
			if trial%2 == 0 {
				off = 200
			}
			b = append(b, base+off+rng.Int64N(100))
		}
		for _, v := range append(append([]int64{}, a...), b...) {
			set[v] = struct{}{}
		}
		ea := instantsFromSet(toSet(a))
		eb := instantsFromSet(toSet(b))
		merged, err := mergeInstants(ea, eb)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeInstants(merged)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]int64, 0, len(set))
		for v := range set {
			want = append(want, v)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("merge of %v and %v gave %v, want %v", a, b, got, want)
		}
		if back, _ := mergeInstants(eb, ea); !slices.Equal(mustDecode(t, back), want) {
			t.Fatalf("merge is not commutative")
		}
	}
}

func toSet(v []int64) map[int64]struct{} {
	m := map[int64]struct{}{}
	for _, x := range v {
		m[x] = struct{}{}
	}
	return m
}

func mustDecode(t *testing.T, b []byte) []int64 {
	t.Helper()
	v, err := decodeInstants(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMalformedInstantsAreAnError(t *testing.T) {
	for _, b := range [][]byte{{0xff}, {2, 5, 1}, {1, 0x80}} {
		if _, err := decodeInstants(b); err == nil {
			t.Errorf("%x decoded without error", b)
		}
	}
}
