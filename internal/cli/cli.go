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
	"runtime/debug"
	"strings"
	"syscall"

	"portolan/internal/spell"
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
	// SetMemoryLimit sets the process's soft memory limit (as
	// runtime/debug.SetMemoryLimit); nil where the process is not the
	// command's own (tests run commands in-process).
	SetMemoryLimit func(bytes int64)
	// StartHeapFloor keeps the Go heap's goal at bytes or more
	// (KeepHeapFloor); nil where the process is not the command's own.
	StartHeapFloor func(bytes uint64) (stop func())
}

// OSEnv is the process's own environment.
func OSEnv() *Env {
	return &Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Interactive:    isTerminal(os.Stderr),
		SetMemoryLimit: func(n int64) { debug.SetMemoryLimit(n) },
		StartHeapFloor: startHeapFloor,
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
	// Version, when set, is what --version prints after the name, as the
	// version command does.
	Version string
	// Default, when set, names the command that runs when there are no
	// arguments or the first one is a flag other than -h: portolan-bench
	// alone runs every benchmark, as `portolan bench` did.
	Default string
}

// Main runs the program with the process's arguments and environment,
// cancels it on SIGINT or SIGTERM, and exits with ExitCode.
func (p *Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfiles, err := startProfiles(os.Getenv)
	if err == nil {
		err = p.Run(ctx, OSEnv(), os.Args[1:])
		if perr := stopProfiles(); err == nil {
			err = perr
		}
	}
	stop()
	if err != nil {
		if !errors.Is(err, ErrSilentExit) {
			fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, Message(err))
		}
		os.Exit(ExitCode(err))
	}
}

// Run runs the subcommand named by args[0]. A subcommand's -h is not an
// error; no arguments at all is a usage error unless there is a Default.
func (p *Program) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		p.usage(env.Stdout)
		return nil
	}
	if len(args) > 0 && p.Version != "" && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintf(env.Stdout, "%s %s\n", p.Name, p.Version)
		return nil
	}
	var name string
	switch {
	case len(args) > 0 && p.Default == "" && strings.HasPrefix(args[0], "-") && args[0] != "-":
		return p.unknownFlag(args[0])
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
		names := make([]string, len(p.Commands))
		for i, c := range p.Commands {
			names[i] = c.Name
		}
		return fmt.Errorf("unknown command %q%s ('%s help' lists the commands): %w", name, DidYouMean(name, names), p.Name, ErrUsage)
	}
	err := cmd.Run(ctx, env, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// Message is err as the user reads it: without the ": usage" that marks
// usage errors for ExitCode.
func Message(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+ErrUsage.Error())
}

// ParseFlags parses args into fs. -h prints fs.Usage and returns
// flag.ErrHelp, as flag does; any other flag error is a usage error that
// names the flag and, for a near miss, the flag that was probably meant,
// without printing the whole usage text (the user asked for none).
func ParseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return err
	}
	hint := ""
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: "); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		hint = DidYouMean(strings.TrimLeft(name, "-"), names)
		if hint != "" {
			hint = strings.Replace(hint, `"`, `"--`, 1)
		}
	}
	return fmt.Errorf("%s: %v%s (-h lists the flags): %w", fs.Name(), err, hint, ErrUsage)
}

// DidYouMean returns `; did you mean "x"?` for the candidate closest to
// got when it is a near miss (spell.Closest), else "".
func DidYouMean(got string, candidates []string) string {
	if c, ok := spell.Closest(got, candidates); ok {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

// unknownFlag is the usage error of a flag before the command: the program
// itself takes only -h and --version, so a near miss of one of them is
// named ("--verison"; did you mean "--version"?), and anything else points
// at the commands, whose flags come after their name.
func (p *Program) unknownFlag(arg string) error {
	flags := []string{"help"}
	if p.Version != "" {
		flags = append(flags, "version")
	}
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if hint := DidYouMean(name, flags); hint != "" {
		return fmt.Errorf("unknown flag %q%s: %w", arg, strings.Replace(hint, `"`, `"--`, 1), ErrUsage)
	}
	return fmt.Errorf("unknown flag %q: the flags of %s go after its command ('%s help' lists the commands, '%s <command> -h' their flags): %w", arg, p.Name, p.Name, p.Name, ErrUsage)
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

// LimitMemory gives the Go heap a soft limit of n bytes unless the user
// set one with GOMEMLIMIT. Commands whose working set is bounded by design
// (ingest holds two batches) use it so that the garbage collector runs
// before the heap doubles, which keeps the process's peak memory near
// what it actually holds.
func (e *Env) LimitMemory(n int64) {
	if e.SetMemoryLimit != nil && e.Getenv("GOMEMLIMIT") == "" {
		e.SetMemoryLimit(n)
	}
}
