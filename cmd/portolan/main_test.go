// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
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
	if _, _, err := run(t, nil, "frobnicate"); cli.ExitCode(err) != 2 || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: err %v", err)
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

// TestUsageErrorsExitTwoBeforeAnyWork: a usage error exits 2 with one line
// on stderr, no usage text and no summary, and touches no data directory.
func TestUsageErrorsExitTwoBeforeAnyWork(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"ingets", "x.xml"}, `unknown command "ingets"; did you mean "ingest"?`},
		{[]string{"--bogus"}, `unknown flag "--bogus": the flags of portolan go after its command`},
		{[]string{"--data", data, "ingest", "x.xml"}, `unknown flag "--data": the flags of portolan go after its command`},
		{[]string{"--verison"}, `unknown flag "--verison"; did you mean "--version"?`},
		{[]string{"ingest", "--data", data, "--frmat", "nmap", "x.xml"}, `did you mean "--format"?`},
		{[]string{"ingest", "--data", data, "--format", "nmpa", samples + "nmap_sV_scripts_5ports.xml"}, `ingest: --format "nmpa": not a format; did you mean "nmap"?`},
		{[]string{"ingest", "--data", data, "--cache-mb", "0", samples + "nmap_sV_scripts_5ports.xml"}, `ingest: --cache-mb 0: want 1 to 65536`},
		{[]string{"ingest", "--data", data, "--concurrency", "0x", samples + "nmap_sV_scripts_5ports.xml"}, `invalid value "0x" for flag -concurrency`},
		{[]string{"ingest", "--data", data, "--concurrency", "17", samples + "nmap_sV_scripts_5ports.xml"}, `ingest: --concurrency 17: want 1 to 16`},
		{[]string{"ingest", "--data", data, "--concurrency", "2", samples + "nmap_sV_scripts_5ports.xml"}, `it needs --store postgres://… (the embedded store has one writer`},
		{[]string{"ingest", "--data", data}, "ingest: no input"},
		{[]string{"ingest", "--data", data, "--dry-run"}, "ingest: no input"},
		{[]string{"token", "--data", data, "extra"}, `token: unexpected argument "extra"`},
		{[]string{"serve", "--data", data, "--adr", ":0"}, `did you mean "--addr"?`},
		{[]string{"serve", "--data", data, "--notify-allow", "10.0.0.0/33"}, `"10.0.0.0/33" is not a CIDR such as 10.0.0.0/8`},
	} {
		out, errOut, err := run(t, nil, tt.args...)
		if cli.ExitCode(err) != 2 || !strings.Contains(cli.Message(err), tt.want) {
			t.Errorf("%q: exit %d, message %q, want %q", tt.args, cli.ExitCode(err), errString(err), tt.want)
		}
		if out != "" || errOut != "" {
			t.Errorf("%q printed\nstdout %q\nstderr %q", tt.args, out, errOut)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a usage error created the data directory: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return cli.Message(err)
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out, _, err := run(t, nil, args...)
		if err != nil || out != "portolan dev\n" {
			t.Errorf("%q: %v %q", args, err, out)
		}
	}
	out, errOut, err := run(t, nil, "version", "-h")
	if err != nil || out != "" || !strings.Contains(errOut, "Usage: portolan version") {
		t.Errorf("version -h: %v %q %q", err, out, errOut)
	}
	if _, _, err := run(t, nil, "version", "--json"); cli.ExitCode(err) != 2 {
		t.Errorf("version --json: %v", err)
	}
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "portolan", Version: v}}, true
		}
	}
	for _, tt := range []struct{ ldflags, module, want string }{
		{"dev", "v1.4.0", "v1.4.0"},  // go install portolan/cmd/portolan@v1.4.0
		{"dev", "(devel)", "dev"},    // go build in a checkout
		{"1.5.0", "v1.4.0", "1.5.0"}, // make: -ldflags wins
	} {
		if got := buildVersion(tt.ldflags, info(tt.module)); got != tt.want {
			t.Errorf("buildVersion(%q, %q) = %q, want %q", tt.ldflags, tt.module, got, tt.want)
		}
	}
}

// TestServeDemoChecksTheAddressFirst: a port in use is reported before the
// demo loads anything, naming the flag and the variable that change it.
func TestServeDemoChecksTheAddressFirst(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "data")
	for _, env := range []map[string]string{nil, {"PORTOLAN_ADDR": busy.Addr().String()}} {
		args := []string{"serve", "--demo", "--data", data}
		if env == nil {
			args = append(args, "--addr", busy.Addr().String())
		}
		out, _, err := run(t, env, args...)
		if err == nil || !strings.Contains(err.Error(), "cannot listen on "+busy.Addr().String()+" (set another address with --addr or PORTOLAN_ADDR)") {
			t.Errorf("env %v: err %v", env, err)
		}
		if out != "" {
			t.Errorf("env %v: the demo loaded before listening:\n%s", env, out)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the data directory was created: %v", err)
	}
}
