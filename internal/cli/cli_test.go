// SPDX-License-Identifier: Apache-2.0

package cli_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"

	"portolan/internal/cli"
)

// program records which command ran with which arguments.
func program(ran *string, def string) *cli.Program {
	cmd := func(name string) cli.Command {
		return cli.Command{Name: name, Summary: "The " + name + " command.", Run: func(_ context.Context, _ *cli.Env, args []string) error {
			*ran = name + " " + strings.Join(args, " ")
			if len(args) > 0 && args[0] == "-h" {
				return flag.ErrHelp
			}
			if len(args) > 0 && args[0] == "bad" {
				return fmt.Errorf("bad argument: %w", cli.ErrUsage)
			}
			return nil
		}}
	}
	return &cli.Program{Name: "prog", Intro: "Prog does things.\n", Commands: []cli.Command{cmd("zeta"), cmd("alpha")}, Default: def, Version: "1.2.3"}
}

func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name   string
		def    string
		args   []string
		ran    string
		code   int
		stdout string
		stderr string
	}{
		{name: "dispatch", args: []string{"alpha", "x"}, ran: "alpha x"},
		{name: "help lists commands in table order", args: []string{"help"}, stdout: "Prog does things.\n\nUsage:\n  prog <command> [flags] [arguments]\n\nCommands:\n  zeta       The zeta command.\n  alpha      The alpha command.\n"},
		{name: "-h", args: []string{"-h"}, stdout: "Commands:"},
		{name: "-help", args: []string{"-help"}, stdout: "Commands:"},
		{name: "no arguments", code: 2, stdout: "Usage:"},
		{name: "unknown is a usage error", args: []string{"nope"}, code: 2},
		{name: "flag without default is unknown", args: []string{"--x"}, code: 2},
		{name: "--version", args: []string{"--version"}, stdout: "prog 1.2.3\n"},
		{name: "command -h is not an error", args: []string{"zeta", "-h"}, ran: "zeta -h"},
		{name: "usage error", args: []string{"zeta", "bad"}, ran: "zeta bad", code: 2},
		{name: "default without arguments", def: "alpha", ran: "alpha "},
		{name: "default with flags", def: "alpha", args: []string{"--n=1"}, ran: "alpha --n=1"},
		{name: "default does not hide help", def: "alpha", args: []string{"-h"}, stdout: "Commands:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ran string
			var out, errOut strings.Builder
			env := &cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
			err := program(&ran, tt.def).Run(context.Background(), env, tt.args)
			if got := cli.ExitCode(err); got != tt.code {
				t.Errorf("exit code %d (%v), want %d", got, err, tt.code)
			}
			if ran != tt.ran {
				t.Errorf("ran %q, want %q", ran, tt.ran)
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.stdout)
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.stderr)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	for err, want := range map[error]int{
		nil:                                    0,
		errors.New("x"):                        1,
		cli.ErrSilentExit:                      1,
		fmt.Errorf("a: %w", cli.ErrUsage):      2,
		fmt.Errorf("a: %w", cli.ErrSilentExit): 1,
	} {
		if got := cli.ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}

// TestUsageErrors: a usage error says what was wrong and what was probably
// meant in one line, prints no usage text, and exits 2.
func TestUsageErrors(t *testing.T) {
	var ran string
	var out, errOut strings.Builder
	env := &cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err := program(&ran, "").Run(context.Background(), env, []string{"alhpa"})
	if cli.ExitCode(err) != 2 || ran != "" {
		t.Fatalf("exit %d, ran %q", cli.ExitCode(err), ran)
	}
	if got, want := cli.Message(err), `unknown command "alhpa"; did you mean "alpha"? ('prog help' lists the commands)`; got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
	if out.Len()+errOut.Len() != 0 {
		t.Errorf("printed %q %q", out.String(), errOut.String())
	}

	// A flag before the command is a flag, not a command; the program's own
	// are suggested for a near miss.
	for arg, want := range map[string]string{
		"--bogus":   `unknown flag "--bogus": the flags of prog go after its command ('prog help' lists the commands, 'prog <command> -h' their flags)`,
		"-x=1":      `unknown flag "-x=1": the flags of prog go after its command ('prog help' lists the commands, 'prog <command> -h' their flags)`,
		"--verison": `unknown flag "--verison"; did you mean "--version"?`,
		"-vesrion":  `unknown flag "-vesrion"; did you mean "--version"?`,
		"--hlep":    `unknown flag "--hlep"; did you mean "--help"?`,
	} {
		out.Reset()
		errOut.Reset()
		err := program(&ran, "").Run(context.Background(), env, []string{arg, "alpha"})
		if cli.ExitCode(err) != 2 || ran != "" || cli.Message(err) != want {
			t.Errorf("%s: exit %d, ran %q, message\n got %s\nwant %s", arg, cli.ExitCode(err), ran, cli.Message(err), want)
		}
		if out.Len()+errOut.Len() != 0 {
			t.Errorf("%s: printed %q %q", arg, out.String(), errOut.String())
		}
	}

	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	var buf strings.Builder
	fs.SetOutput(&buf)
	fs.String("format", "auto", "")
	fs.Int("port", 0, "")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "USAGE TEXT") }
	for args, want := range map[string]string{
		"--frmat=nmap": `ingest: flag provided but not defined: -frmat; did you mean "--format"? (-h lists the flags)`,
		"--zzz":        `ingest: flag provided but not defined: -zzz (-h lists the flags)`,
		"--port=x":     `ingest: invalid value "x" for flag -port: parse error (-h lists the flags)`,
	} {
		err := cli.ParseFlags(fs, []string{args})
		if cli.ExitCode(err) != 2 || cli.Message(err) != want {
			t.Errorf("%s: exit %d, message\n got %s\nwant %s", args, cli.ExitCode(err), cli.Message(err), want)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("a flag error printed %q", buf.String())
	}
	if err := cli.ParseFlags(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) || buf.String() != "USAGE TEXT\n" {
		t.Errorf("-h: %v, printed %q", err, buf.String())
	}
}

func TestDidYouMean(t *testing.T) {
	names := []string{"serve", "ingest", "search", "watch", "token", "rebuild", "version"}
	for got, want := range map[string]string{
		"serv": "serve", "ingets": "ingest", "Token": "token", "verison": "version",
		"x": "", "frobnicate": "", "bench": "",
	} {
		hint := cli.DidYouMean(got, names)
		if (want == "") != (hint == "") || (want != "" && !strings.Contains(hint, `"`+want+`"`)) {
			t.Errorf("DidYouMean(%q) = %q, want %q", got, hint, want)
		}
	}
}
