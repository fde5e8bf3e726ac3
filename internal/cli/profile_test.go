// SPDX-License-Identifier: Apache-2.0

package cli

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestProfilesFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		EnvCPUProfile: filepath.Join(dir, "cpu.prof"),
		EnvMemProfile: filepath.Join(dir, "mem.prof"),
	}
	stop, err := startProfiles(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	sink := make([][]byte, 0, 64)
	for range 64 {
		sink = append(sink, make([]byte, 64<<10))
	}
	_ = sink
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cpu.prof", "mem.prof"} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		// A profile is a gzipped protocol buffer.
		z, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			t.Fatalf("%s is not a profile: %v", name, err)
		}
		n, err := io.Copy(io.Discard, z)
		f.Close()
		if err != nil || n == 0 {
			t.Errorf("%s: %d bytes of profile, %v", name, n, err)
		}
	}
}

func TestNoProfileUnlessAsked(t *testing.T) {
	stop, err := startProfiles(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestProfileToAnUnwritablePathIsAnError(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "missing", "cpu.prof")
	if _, err := startProfiles(func(k string) string {
		if k == EnvCPUProfile {
			return bad
		}
		return ""
	}); err == nil {
		t.Fatal("no error for a profile in a missing directory")
	}
}

func TestLimitMemoryLeavesGOMEMLIMITAlone(t *testing.T) {
	for _, tc := range []struct {
		gomemlimit string
		want       int64
	}{{"", 64 << 20}, {"1GiB", -1}} {
		got := int64(-1)
		env := &Env{Getenv: func(k string) string {
			if k == "GOMEMLIMIT" {
				return tc.gomemlimit
			}
			return ""
		}, SetMemoryLimit: func(n int64) { got = n }}
		env.LimitMemory(64 << 20)
		if got != tc.want {
			t.Errorf("GOMEMLIMIT=%q: limit set to %d, want %d", tc.gomemlimit, got, tc.want)
		}
	}
	(&Env{Getenv: func(string) string { return "" }}).LimitMemory(1) // no setter: no effect, no panic
}
