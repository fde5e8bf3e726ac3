// SPDX-License-Identifier: Apache-2.0

// Command portolan-bench measures the portolan binary next to this
// machine's limits and generates the synthetic scan data it measures with.
//
// It is a command of its own, not a subcommand of portolan, so that the
// shipped binary is the product only: the harness starts wrk and nginx, and
// installs them with apt-get when they are missing, which a security tool
// must never do. It measures a separate portolan binary as child processes
// (see findPortolan), so that peak RSS comes from the kernel and the server
// runs as it does in production.
package main

import (
	"portolan/internal/cli"
)

// program lists every command of portolan-bench. Without a command (or
// with only flags) it runs every benchmark, as `portolan bench` did.
var program = cli.Program{
	Name:  "portolan-bench",
	Intro: "portolan-bench measures ingest and serve of the portolan binary next to this\nmachine's limits (parsing alone, nginx), and search in its stores, and prints\nMarkdown tables.\n",
	Commands: []cli.Command{
		{Name: "all", Summary: "Measure ingest and serve (the default: portolan-bench [flags])", Run: benchSection("all")},
		{Name: "ingest", Summary: "Measure ingest next to parsing the same file alone", Run: benchSection("ingest")},
		{Name: "serve", Summary: "Measure serve next to nginx serving the same bytes", Run: benchSection("serve")},
		{Name: "search", Summary: "Measure estate-wide searches on stores of 100k and 1M hostPorts (not part of all)", Run: benchSection("search")},
		{Name: "bus", Summary: "Measure the scale-out: direct ingest, ingest --bus, 1..3 workers into PostgreSQL, publish to visible", Run: runBus},
		{Name: "gen", Summary: "Generate synthetic scan data (native NDJSON or nmap XML)", Run: runGen},
		{Name: "parse-only", Summary: "Ingest files into a store that discards (the baseline of ingest)", Run: runParseOnly},
		{Name: "copy-baseline", Summary: "Time a plain COPY of a file's observations into PostgreSQL (the baseline of PostgreSQL ingest)", Run: runCopyBaseline},
	},
	Default: "all",
}

func main() { program.Main() }
