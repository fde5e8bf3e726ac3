// SPDX-License-Identifier: Apache-2.0

// Command portolan ingests scanner output into port intelligence and serves
// it through the Microsoft Graph threat-intelligence API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

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

// command is one subcommand: its one-line summary and its entry point, which
// parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is filled by each subcommand's file, so that adding one touches
// only its own file.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, env *Env, args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Interactive: isTerminal(os.Stderr),
	}
	err := Run(ctx, env, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, errSilentExit) {
			fmt.Fprintf(os.Stderr, "portolan: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

// errSilentExit makes main exit non-zero without printing, for commands that
// already reported their failure (ingest with rejected records).
var errSilentExit = errors.New("exit status 1")

// exitCode is 2 for usage errors, 1 for everything else.
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

// Run runs the subcommand named by args[0].
func Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "portolan: unknown command %q\n\n", args[0])
		usage(env.Stderr)
		return errSilentExit
	}
	err := cmd.run(ctx, env, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Portolan charts what internet scanners see on hosts' ports and serves it\nthrough the Microsoft Graph threat-intelligence API.\n\nUsage:\n  portolan <command> [flags] [arguments]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintf(w, "\nRun 'portolan <command> -h' for the flags of a command.\n")
}

func init() {
	register("version", "Print the version", func(_ context.Context, env *Env, _ []string) error {
		fmt.Fprintf(env.Stdout, "portolan %s\n", version)
		return nil
	})
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
