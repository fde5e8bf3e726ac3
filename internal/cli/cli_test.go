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
	return &cli.Program{Name: "prog", Intro: "Prog does things.\n", Commands: []cli.Command{cmd("zeta"), cmd("alpha")}, Default: def}
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
		{name: "no arguments", code: 2, stdout: "Usage:"},
		{name: "unknown", args: []string{"nope"}, code: 1, stderr: `prog: unknown command "nope"`},
		{name: "flag without default is unknown", args: []string{"--x"}, code: 1, stderr: `unknown command "--x"`},
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
