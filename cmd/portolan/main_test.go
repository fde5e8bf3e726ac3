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

// run runs the command in-process, as main would, and returns its output.
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

const samples = "../../internal/ingest/testdata/"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real portolan binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "portolan-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "portolan")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildFailure{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build portolan: %v", buildErr)
	}
	return binPath
}

type buildFailure struct {
	out string
	err error
}

func (b *buildFailure) Error() string { return b.err.Error() + "\n" + b.out }

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func TestHelpListsTheCommands(t *testing.T) {
	out, _, err := run(t, nil, "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"ingest", "rebuild", "version"} {
		if !strings.Contains(out, "  "+c) {
			t.Errorf("help does not list %s:\n%s", c, out)
		}
	}
	if _, errOut, err := run(t, nil, "frobnicate"); err == nil || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: err %v, stderr %s", err, errOut)
	}
	// The harness and the generator are cmd/portolan-bench.
	for _, c := range []string{"bench", "gen"} {
		if _, _, err := run(t, nil, c); err == nil {
			t.Errorf("portolan %s still runs", c)
		}
	}
}

// TestRunsNoPrograms keeps the shipped binary from starting other programs
// (a package manager above all): a security tool installs nothing. Anything
// that must, such as the benchmark harness, belongs to cmd/portolan-bench.
func TestRunsNoPrograms(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "os/exec" {
			t.Errorf("cmd/portolan imports os/exec; it must not start other programs")
		}
	}
}
