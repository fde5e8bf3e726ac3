// SPDX-License-Identifier: Apache-2.0

package native

import (
	"testing"
	"time"
)

// timeSeeds are instants in and around the form parseUTC reads itself.
var timeSeeds = []string{
	"2026-01-01T00:00:00Z", "2026-11-27T11:54:22.5Z", "2026-11-27T11:54:22.123456789Z",
	"2026-11-27T11:54:22.1234567891234Z", "2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-31T23:59:59Z",
	"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
	"2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z",
	"2026-01-01T00:00:00.Z", "2026-01-01T00:00:00,5Z", "2026-01-01T00:00:00.5aZ", "2026-01-01T00:00:00z",
	"2026-01-01t00:00:00Z", "2026-01-01 00:00:00Z", "2026-1-01T00:00:00Z", "+026-01-01T00:00:00Z",
	"-026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00-07:30",
	"2026-01-01T00:00:00.5+00:00", "2026-01-01T0:00:00Z", "2026-01-01T00:00:0Z", "", "Z", "yesterday",
	"2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00 Z", "2026-01-01T00:00:00.+5Z", "2026-01-01T00:00:00.-5Z",
}

// TestParseTime checks that parseTime is time.Parse(time.RFC3339Nano).
func TestParseTime(t *testing.T) {
	for _, s := range timeSeeds {
		checkParseTime(t, s)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range timeSeeds {
		f.Add(s)
	}
	f.Fuzz(checkParseTime)
}

func checkParseTime(t *testing.T, s string) {
	got, ok := parseTime([]byte(s))
	want, err := time.Parse(time.RFC3339Nano, s)
	gotZone, gotOffset := got.Zone()
	wantZone, wantOffset := want.Zone()
	if ok != (err == nil) || !got.Equal(want) || gotZone != wantZone || gotOffset != wantOffset || got.Location().String() != want.Location().String() {
		t.Errorf("parseTime(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
	}
}
