// SPDX-License-Identifier: Apache-2.0

package obslog_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"portolan"
	"portolan/internal/obslog"
	"portolan/internal/storetest"
)

func TestRoundTrip(t *testing.T) {
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(5, 5)), 300)
	got, err := obslog.Decode(obslog.Encode(obs))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(obs, got); diff != "" {
		t.Fatalf("decoded observations differ (-want +got):\n%s", diff)
	}
}

// A compressed entry decodes to the same observations as the plain one,
// and is smaller when banners repeat, as a scan's do.
func TestCompressedRoundTrip(t *testing.T) {
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(10, 10)), 300)
	plain, packed := obslog.Encode(obs), obslog.EncodeCompressed(obs)
	if packed[0] != obslog.Compressed || len(packed) >= len(plain) {
		t.Fatalf("compressed entry: first byte %d, %d bytes against %d", packed[0], len(packed), len(plain))
	}
	got, err := obslog.Decode(packed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(obs, got); diff != "" {
		t.Fatalf("decoded observations differ (-want +got):\n%s", diff)
	}
	if got, err := obslog.Decode(obslog.EncodeCompressed(nil)); err != nil || len(got) != 0 {
		t.Errorf("an empty compressed entry: %v, %v", got, err)
	}
}

func TestObservationRoundTrip(t *testing.T) {
	for _, o := range storetest.RandomObservations(rand.New(rand.NewPCG(6, 6)), 100) {
		b := obslog.AppendObservation(nil, o)
		got, err := obslog.DecodeObservation(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(o, got); diff != "" {
			t.Fatalf("decoded observation differs (-want +got):\n%s", diff)
		}
		if _, err := obslog.DecodeObservation(b[:len(b)-1]); !errors.Is(err, obslog.ErrCorrupt) {
			t.Fatalf("a cut observation: err %v, want ErrCorrupt", err)
		}
		if _, err := obslog.DecodeObservation(append(b, 0)); !errors.Is(err, obslog.ErrCorrupt) {
			t.Fatalf("an observation with a byte more: err %v, want ErrCorrupt", err)
		}
	}
}

// EncodedLen is exact, at the varints' boundaries too: Encode sizes its
// entry with it, once.
func TestEncodedLen(t *testing.T) {
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(7, 7)), 200)
	long := strings.Repeat("x", 127)
	obs = append(obs,
		&portolan.Observation{},
		&portolan.Observation{Host: long, Banner: long + "x", Port: 128, SeenAt: time.Unix(-64, 0), ScannedAt: time.Unix(63, 0)},
		&portolan.Observation{Source: strings.Repeat("y", 16384), Port: 65535, SeenAt: time.Unix(1<<40, 0), ScannedAt: time.Unix(-1<<40, 0),
			Components: []portolan.Component{{Name: long}}, Hostnames: []string{"a", long}, Certificate: []byte(long)})
	for i, o := range obs {
		if got, want := obslog.EncodedLen(o), len(obslog.AppendObservation(nil, o)); got != want {
			t.Errorf("observation %d: EncodedLen %d, encoding %d bytes", i, got, want)
		}
	}
	if b := obslog.Encode(obs); len(b) != cap(b) {
		t.Errorf("Encode: %d bytes in a buffer of %d", len(b), cap(b))
	}
}

func TestCorruptEntriesAreErrors(t *testing.T) {
	one := []*portolan.Observation{{Host: "192.0.2.1", Port: 1, Protocol: "tcp", Status: "open", Source: "x"}}
	good, packed := obslog.Encode(one), obslog.EncodeCompressed(one)
	for name, b := range map[string][]byte{
		"empty":                nil,
		"wrong version":        append([]byte{9}, good[1:]...),
		"truncated":            good[:len(good)-3],
		"huge count":           {obslog.Version, 0xff, 0xff, 0xff, 0x7f},
		"compressed, not zstd": append([]byte{obslog.Compressed}, good...),
		"compressed, cut":      packed[:len(packed)-2],
		"compressed twice":     append([]byte{obslog.Compressed}, zstdFrame(t, packed)...),
		"compressed, empty":    {obslog.Compressed},
	} {
		if _, err := obslog.Decode(b); !errors.Is(err, obslog.ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", name, err)
		}
	}
}

// zstdFrame compresses b as a zstd frame of its own.
func zstdFrame(t *testing.T, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func FuzzDecode(f *testing.F) {
	f.Add(obslog.Encode(storetest.RandomObservations(rand.New(rand.NewPCG(1, 1)), 3)))
	f.Add(obslog.EncodeCompressed(storetest.RandomObservations(rand.New(rand.NewPCG(2, 2)), 3)))
	f.Fuzz(func(t *testing.T, b []byte) {
		obs, err := obslog.Decode(b)
		if err == nil {
			if _, err := obslog.Decode(obslog.Encode(obs)); err != nil {
				t.Fatalf("re-encoding a decoded entry fails: %v", err)
			}
			if _, err := obslog.Decode(obslog.EncodeCompressed(obs)); err != nil {
				t.Fatalf("re-encoding a decoded entry compressed fails: %v", err)
			}
		}
	})
}

func FuzzDecodeObservation(f *testing.F) {
	for _, o := range storetest.RandomObservations(rand.New(rand.NewPCG(2, 2)), 3) {
		f.Add(obslog.AppendObservation(nil, o))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := obslog.DecodeObservation(b)
		if err == nil {
			if _, err := obslog.DecodeObservation(obslog.AppendObservation(nil, o)); err != nil {
				t.Fatalf("re-encoding a decoded observation fails: %v", err)
			}
		}
	})
}
