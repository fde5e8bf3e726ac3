// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Go's collector runs when the heap has grown by GOGC percent of what the
// last collection left live. A server whose live heap is small (serve
// holds a few MiB between requests) but which allocates quickly then
// collects dozens of times a second: 30 times a second serving a cached
// page at 26,000 requests/s, each collection with its pauses and its
// assists landing on requests in flight. A floor on the heap's goal bounds
// how often that happens, for a bounded amount of memory; once the live
// heap is half the floor or more, GOGC's own rule applies unchanged.

// runtimeHeapMinimum is the least heap goal of Go's collector at GOGC 100
// (4 MiB); it scales with GOGC, so that at GOGC P no goal is below
// runtimeHeapMinimum × P/100, however small the live heap.
const runtimeHeapMinimum = 4 << 20

// floorPercent is the GOGC that makes the heap's goal floor for a live
// heap of live bytes (0: no collection yet), and 100 (Go's default) when
// that goal is live's own (live × 2) or more. The goal is the larger of
// live × (1 + GOGC/100) and the minimum's, so neither may pass floor.
func floorPercent(live, floor uint64) int {
	if 2*live >= floor {
		return 100
	}
	p := floor * 100 / runtimeHeapMinimum
	if live > 0 {
		p = min(p, floor*100/live-100)
	}
	return int(max(p, 100))
}

// heapFloor sets GOGC after every collection from the live heap it left,
// which runtime/metrics tells.
type heapFloor struct {
	floor   uint64
	mu      sync.Mutex
	stopped bool
	sample  []metrics.Sample
}

// gcSentinel is an object that is unreachable as soon as it is made: its
// cleanup runs after the next collection. It holds a pointer and is larger
// than the tiny allocator's 16 bytes, whose objects may share a block and
// never be cleaned up on their own.
type gcSentinel struct {
	_ *byte
	_ [24]byte
}

// startHeapFloor keeps the heap's goal at floor bytes or more until stop
// is called, which restores GOGC 100.
func startHeapFloor(floor uint64) (stop func()) {
	f := &heapFloor{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.tune()
	f.arm()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.stopped = true
		debug.SetGCPercent(100)
	}
}

// arm makes a sentinel whose cleanup tunes GOGC after the next collection
// and arms the one after.
func (f *heapFloor) arm() {
	runtime.AddCleanup(&gcSentinel{}, func(f *heapFloor) {
		if f.tune() {
			f.arm()
		}
	}, f)
}

// tune sets GOGC for the live heap the last collection left; false once
// stopped.
func (f *heapFloor) tune() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.sample)
	var live uint64
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		live = f.sample[0].Value.Uint64()
	}
	debug.SetGCPercent(floorPercent(live, f.floor))
	return true
}

// KeepHeapFloor keeps the Go heap's goal at bytes or more (see heapFloor)
// unless the user set GOGC, for the life of the process. Commands that
// serve many small requests use it so that the collector runs a few times
// a second rather than dozens.
func (e *Env) KeepHeapFloor(bytes uint64) {
	if e.StartHeapFloor != nil && e.Getenv("GOGC") == "" {
		e.StartHeapFloor(bytes)
	}
}
