// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"portolan/internal/httpapi"
)

func TestAppendTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(tm time.Time) {
		t.Helper()
		got := string(httpapi.AppendTime(nil, tm))
		want, _ := json.Marshal(tm.UTC())
		if got != string(want) {
			t.Errorf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	}
	for i := 0; i < 20000; i++ {
		check(time.Unix(rng.Int64N(253402300800), 0))
	}
	for _, tm := range []time.Time{
		time.Unix(0, 0), time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC), time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2023, 7, 18, 23, 24, 1, 500, time.UTC), time.Date(2023, 7, 18, 23, 24, 1, 0, time.FixedZone("CEST", 7200)),
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
	} {
		check(tm)
	}
	if got := string(httpapi.AppendTime(nil, time.Time{})); got != "null" {
		t.Errorf("zero time = %s", got)
	}
}

// FuzzAppendString checks the hand-written JSON string encoder against
// encoding/json: the output is valid JSON and decodes to what
// encoding/json's own encoding of the input decodes to.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "HTTP/1.1 200 OK\r\nServer: x\r\n", "\x00\x1f\"\\", "é日本\u2028", "\xff\xfe", "12345678\x019"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := httpapi.AppendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", s, out, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("AppendString(%q) decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}
