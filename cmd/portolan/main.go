// SPDX-License-Identifier: Apache-2.0

// Command portolan ingests scanner output into port intelligence and serves
// it through the Microsoft Graph threat-intelligence API. It is the product
// only: the benchmark harness and the data generator are cmd/portolan-bench.
package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"

	"portolan/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// program lists every command of portolan, in the order the usage text
// shows them. Each command's flags and work live in its own file.
var program = cli.Program{
	Name:  "portolan",
	Intro: "Portolan charts what internet scanners see on hosts' ports and serves it\nthrough the Microsoft Graph threat-intelligence API.\n",
	Commands: []cli.Command{
		{Name: "serve", Summary: "Serve the Microsoft Graph threat-intelligence API", Run: runServe},
		{Name: "ingest", Summary: "Ingest scanner output (nmap XML, native NDJSON, ...) into the store", Run: runIngest},
		{Name: "worker", Summary: "Merge the observations of the ingest bus (NATS JetStream) into the store", Run: runWorker},
		{Name: "search", Summary: "Search the estate with an OData $filter (locally or on a server)", Run: runSearch},
		{Name: "watch", Summary: "Print what changed on the estate's ports since the last run (delta of hostPorts)", Run: runWatch},
		{Name: "token", Summary: "Print a bearer token of the local issuer", Run: runToken},
		{Name: "rebuild", Summary: "Recompute every record from the observation log", Run: runRebuild},
		{Name: "backup", Summary: "Copy the embedded store to a file while it is in use", Run: runBackup},
		{Name: "prune", Summary: "Remove the observations scanned before a date and recompute the records", Run: runPrune},
		{Name: "version", Summary: "Print the version", Run: runVersion},
	},
}

func init() { program.Version = buildVersion(version, debug.ReadBuildInfo) }

func main() { program.Main() }

// buildVersion is the version to report: the one -ldflags set, else the
// module version `go install portolan/cmd/portolan@v1.2.3` records, else
// "dev" (a build from a checkout records "(devel)").
func buildVersion(ldflags string, info func() (*debug.BuildInfo, bool)) string {
	if ldflags != "dev" {
		return ldflags
	}
	if bi, ok := info(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ldflags
}

// runVersion is `portolan version`.
func runVersion(_ context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: portolan version\n\nPrints the version of this binary (also: portolan --version).\n")
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("version takes no arguments: %w", cli.ErrUsage)
	}
	fmt.Fprintf(env.Stdout, "portolan %s\n", buildVersion(version, debug.ReadBuildInfo))
	return nil
}
