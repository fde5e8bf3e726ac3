// SPDX-License-Identifier: Apache-2.0

// Package cli is what Portolan's two commands, portolan and portolan-bench,
// share of running a command line: the environment a subcommand may touch,
// the table of subcommands, dispatch, usage and exit codes. It is not a
// framework: each subcommand still parses its own flag.FlagSet. It exists so
// that the second command did not copy the first one's dispatch.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Env is what a subcommand may touch of the outside world, injected so that
// tests run commands in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Interactive is true when Stderr is a terminal (progress bars).
	Interactive bool
}

// OSEnv is the process's own environment.
func OSEnv() *Env {
	return &Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Interactive: isTerminal(os.Stderr),
	}
}

// ErrUsage marks an error in how the command was called; Main exits with
// status 2 for it, as flag does.
var ErrUsage = errors.New("usage")

// ErrSilentExit makes Main exit with status 1 without printing, for
// commands that already reported their failure (ingest with rejected
// records).
var ErrSilentExit = errors.New("exit status 1")

// ExitCode is the process exit status for err: 2 for usage errors, 1 for
// everything else, 0 for nil.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	return 1
}

// Command is one subcommand: its name, a one-line summary for the usage
// text, and its entry point, which parses its own flags from args.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, env *Env, args []string) error
}

// Program is a command line made of subcommands.
type Program struct {
	// Name is the program's name in messages ("portolan").
	Name string
	// Intro is the usage text above the list of commands.
	Intro string
	// Commands are listed in this order in the usage text.
	Commands []Command
	// Default, when set, names the command that runs when there are no
	// arguments or the first one is a flag other than -h: portolan-bench
	// alone runs every benchmark, as `portolan bench` did.
	Default string
}

// Main runs the program with the process's arguments and environment,
// cancels it on SIGINT or SIGTERM, and exits with ExitCode.
func (p *Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := p.Run(ctx, OSEnv(), os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, ErrSilentExit) {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		}
		os.Exit(ExitCode(err))
	}
}

// Run runs the subcommand named by args[0]. A subcommand's -h is not an
// error; no arguments at all is a usage error unless there is a Default.
func (p *Program) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		p.usage(env.Stdout)
		return nil
	}
	var name string
	switch {
	case len(args) > 0 && (p.Default == "" || !strings.HasPrefix(args[0], "-")):
		name, args = args[0], args[1:]
	case p.Default != "":
		name = p.Default
	default:
		p.usage(env.Stdout)
		return ErrUsage
	}
	cmd, ok := p.lookup(name)
	if !ok {
		fmt.Fprintf(env.Stderr, "%s: unknown command %q\n\n", p.Name, name)
		p.usage(env.Stderr)
		return ErrSilentExit
	}
	err := cmd.Run(ctx, env, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func (p *Program) lookup(name string) (Command, bool) {
	for _, c := range p.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func (p *Program) usage(w io.Writer) {
	fmt.Fprintf(w, "%s\nUsage:\n  %s <command> [flags] [arguments]\n\nCommands:\n", p.Intro, p.Name)
	for _, c := range p.Commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for the flags of a command.\n", p.Name)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// IsTerminal reports whether w is a terminal, for output meant for people
// (a table) rather than for programs (JSON lines).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
