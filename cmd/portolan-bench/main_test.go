// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"portolan/internal/cli"
)

// run runs portolan-bench in-process, as main would, and returns its output.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return env[k] },
	}
	err = program.Run(context.Background(), e, args)
	return out.String(), errOut.String(), err
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds portolan and portolan-bench side by side, once per test
// run, as 'make bench' does, and returns their directory.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "portolan-bench-bin-"); buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "../portolan", ".").CombinedOutput()
		if err != nil {
			buildErr = &buildFailure{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binDir
}

type buildFailure struct {
	out string
	err error
}

func (b *buildFailure) Error() string { return b.err.Error() + "\n" + b.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func TestHelpListsTheCommands(t *testing.T) {
	out, _, err := run(t, nil, "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"all", "ingest", "serve", "search", "gen", "parse-only"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, out)
		}
	}
}

// A flag in first place selects every section, as `portolan bench --flag`
// did; the flags are checked before anything is generated.
func TestBenchDefaultsToAll(t *testing.T) {
	_, _, err := run(t, nil, "--duration", "1ms")
	if cli.ExitCode(err) != 2 || !strings.Contains(err.Error(), "--duration at least 1s") {
		t.Errorf("got %v, want the usage error of bench's flags", err)
	}
	_, stderr, err := run(t, nil, "ingest", "-h")
	if err != nil || !strings.Contains(stderr, "Usage: portolan-bench [ingest|serve|search|all] [flags]") || !strings.Contains(stderr, "-portolan") {
		t.Errorf("ingest -h: %v\n%s", err, stderr)
	}
}

func TestFindPortolan(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "portolan-bench")
	sibling := filepath.Join(dir, "portolan")
	if err := os.WriteFile(sibling, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findPortolan("", self); err != nil || got != sibling {
		t.Errorf("sibling: %q, %v", got, err)
	}
	other := filepath.Join(t.TempDir(), "portolan")
	os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755)
	if got, err := findPortolan(other, self); err != nil || got != other {
		t.Errorf("--portolan: %q, %v", got, err)
	}
	if _, err := findPortolan(filepath.Join(dir, "missing"), self); err == nil {
		t.Error("a missing --portolan was accepted")
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := findPortolan("", filepath.Join(t.TempDir(), "portolan-bench")); cli.ExitCode(err) != 2 {
		t.Errorf("no binary anywhere: %v, want a usage error", err)
	}
}
