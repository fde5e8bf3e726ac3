// SPDX-License-Identifier: Apache-2.0

// Command portolan ingests scanner output into port intelligence and serves
// it through the Microsoft Graph threat-intelligence API. It is the product
// only: the benchmark harness and the data generator are cmd/portolan-bench.
package main

import (
	"context"
	"fmt"

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
		{Name: "search", Summary: "Search the estate with an OData $filter (locally or on a server)", Run: runSearch},
		{Name: "watch", Summary: "Print what changed on the estate's ports since the last run (delta of hostPorts)", Run: runWatch},
		{Name: "token", Summary: "Print a bearer token of the local issuer", Run: runToken},
		{Name: "rebuild", Summary: "Recompute every record from the observation log", Run: runRebuild},
		{Name: "version", Summary: "Print the version", Run: runVersion},
	},
}

func main() { program.Main() }

// runVersion is `portolan version`.
func runVersion(_ context.Context, env *cli.Env, _ []string) error {
	fmt.Fprintf(env.Stdout, "portolan %s\n", version)
	return nil
}
