// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestFloorPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{0, 32 * mib, 800},        // before the first collection: the minimum's goal, 4 MiB × 8
		{1 * mib, 32 * mib, 800},  // the minimum's goal binds before live's (live × 32)
		{2 * mib, 32 * mib, 800},  // 2 MiB × 9 = 18 MiB, the minimum's 32 MiB
		{5 * mib, 32 * mib, 540},  // 5 MiB × 6.4 = 32 MiB
		{15 * mib, 32 * mib, 113}, // just under half the floor
		{16 * mib, 32 * mib, 100}, // half the floor: GOGC's own rule
		{200 * mib, 32 * mib, 100},
		{1 * mib, 2 * mib, 100}, // a floor below the minimum's goal at 100 changes nothing
	} {
		if got := floorPercent(c.live, c.floor); got != c.want {
			t.Errorf("floorPercent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.floor/mib, got, c.want)
		}
		// The goal the runtime derives from the percent stays at or
		// under the floor (or live × 2 when that is larger).
		p := uint64(floorPercent(c.live, c.floor))
		goal := max(c.live*(100+p)/100, runtimeHeapMinimum*p/100)
		if limit := max(c.floor, 2*c.live, runtimeHeapMinimum); goal > limit+c.live/100 {
			t.Errorf("live %d MiB, floor %d MiB: goal %d MiB", c.live/mib, c.floor/mib, goal/mib)
		}
	}
}

// TestHeapFloorFollowsCollections runs the floor in this process: GOGC is
// set at once, set again after each collection, and 100 again once
// stopped.
func TestHeapFloorFollowsCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	gcPercent := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	stop := startHeapFloor(64 << 20)
	if p := gcPercent(); p <= 100 {
		t.Fatalf("GOGC %d right after the start, want above 100 for a floor of 64 MiB", p)
	}
	// A collection with a different live heap moves the percent: 24 MiB
	// held makes it (64/24 − 1) × 100 = 166.
	held := make([]byte, 24<<20)
	for i := range held {
		held[i] = byte(i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() > 200 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after collections with 24 MiB live", gcPercent())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(held)
	if p := gcPercent(); p < 100 || p > 200 {
		t.Errorf("GOGC %d with 24 MiB live and a floor of 64 MiB, want about 166", p)
	}
	stop()
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := gcPercent(); p != 100 {
		t.Errorf("GOGC %d after stop, want 100", p)
	}
}

// TestKeepHeapFloorLeavesGOGC checks that a GOGC the user set wins.
func TestKeepHeapFloorLeavesGOGC(t *testing.T) {
	for _, gogc := range []string{"", "200", "off"} {
		var started []uint64
		e := &Env{
			Getenv: func(k string) string {
				if k == "GOGC" {
					return gogc
				}
				return ""
			},
			StartHeapFloor: func(n uint64) func() { started = append(started, n); return func() {} },
		}
		e.KeepHeapFloor(32 << 20)
		if want := gogc == ""; (len(started) == 1 && started[0] == 32<<20) != want {
			t.Errorf("GOGC=%q: started %v, want started: %v", gogc, started, want)
		}
	}
	(&Env{Getenv: func(string) string { return "" }}).KeepHeapFloor(32 << 20) // in-process: nothing to start
}
