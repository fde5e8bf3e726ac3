// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"portolan/internal/cli"
	"portolan/internal/gen"
)

// genSampleHosts is how many hosts --size measures to estimate the bytes a
// host takes.
const genSampleHosts = 2000

// runGen is `portolan-bench gen`: deterministic synthetic scans, sized by
// --hosts or --size, for the benchmarks and for anyone who needs a big file.
func runGen(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg := gen.Config{}
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed: the same seed and flags give the same bytes")
	fs.IntVar(&cfg.Hosts, "hosts", 1000, "number of hosts (about 2.9 ports each)")
	fs.IntVar(&cfg.Rescans, "rescans", 5, "scans of every host, a day apart")
	fs.Float64Var(&cfg.BannerRatio, "banners", 0.3, "share of open observations with a banner")
	fs.Float64Var(&cfg.CertificateRatio, "certificates", 0.05, "share of open observations with a certificate")
	fs.IntVar(&cfg.PortsPerHost, "ports-per-host", 0, "give every host exactly this many ports, open in every scan, with banners and (TLS ones) certificates; 0: 1 to 4 ports (20 for a few hosts) that open and close")
	fs.StringVar(&cfg.Probe, "probe", "", "address of an extra host with 20 open ports, all with banners (for benchmarks of hosts/{id}/ports)")
	format := fs.String("format", gen.FormatNative, "output format: "+strings.Join(gen.Formats, ", "))
	out := fs.String("o", "-", "output file; - for standard output")
	size := fs.String("size", "", "approximate output size (e.g. 1GB, 500MB); sets --hosts")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan-bench gen [flags]

Generates synthetic but realistic scan data: IPv4 and IPv6 hosts, some
with hostnames, ports from the distribution internet scans see, rescans
in which ports open and close, software is upgraded and certificates
rotate, banners with volatile headers. The output is deterministic for a
seed. A file of about 1 GB for the memory check of 'portolan-bench ingest':

  portolan-bench gen --size 1GB -o big.ndjson

The nmap file of the nmap benchmark (5,000 hosts of 11 open ports, with
banners and certificates):

  portolan-bench gen --format nmap --hosts 5000 --ports-per-host 11 --rescans 1 -o hosts.xml

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("gen: unexpected argument %q: %w", fs.Arg(0), cli.ErrUsage)
	}
	if cfg.PortsPerHost < 0 || cfg.PortsPerHost > gen.MaxPortsPerHost {
		return fmt.Errorf("gen: --ports-per-host must be 0 to %d: %w", gen.MaxPortsPerHost, cli.ErrUsage)
	}
	if cfg.Hosts < 0 || cfg.Rescans < 1 || cfg.BannerRatio <= 0 || cfg.BannerRatio > 1 || cfg.CertificateRatio <= 0 || cfg.CertificateRatio > 1 {
		return fmt.Errorf("gen: --hosts must be at least 0, --rescans at least 1, --banners and --certificates in (0, 1]: %w", cli.ErrUsage)
	}
	if *size != "" {
		want, err := parseSize(*size)
		if err != nil {
			return fmt.Errorf("gen: --size: %v: %w", err, cli.ErrUsage)
		}
		perHost, err := bytesPerHost(cfg, *format)
		if err != nil {
			return err
		}
		cfg.Hosts = max(1, int(float64(want)/perHost))
	}

	var w io.Writer = env.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		defer f.Close()
		w = f
	}
	start := time.Now()
	st, err := generate(ctx, w, cfg, *format)
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	fmt.Fprintf(env.Stderr, "gen: %d hosts, %d observations (%d host scans; %.0f%% of open ones with a banner, %.1f%% with a certificate), %s in %s\n",
		cfg.Hosts, st.Observations, st.HostScans, pct(st.Banners, st.Open), pct(st.Certificates, st.Open),
		formatBytes(st.Bytes), time.Since(start).Round(time.Millisecond))
	return nil
}

// generate writes the world of cfg to w, stopping when ctx is done.
func generate(ctx context.Context, w io.Writer, cfg gen.Config, format string) (gen.Stats, error) {
	out, err := gen.NewWriter(w, format, cfg)
	if err != nil {
		return gen.Stats{}, fmt.Errorf("%v: %w", err, cli.ErrUsage)
	}
	g := gen.New(cfg)
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return out.Stats(), ctx.Err()
		}
		hs := g.NextScan()
		if hs == nil {
			break
		}
		if err := out.WriteScan(hs); err != nil {
			return out.Stats(), fmt.Errorf("gen: %w", err)
		}
	}
	if err := out.Close(); err != nil {
		return out.Stats(), fmt.Errorf("gen: %w", err)
	}
	return out.Stats(), nil
}

// bytesPerHost measures the output of the first hosts of cfg: hosts are
// drawn independently, so they predict the size of any number of them.
func bytesPerHost(cfg gen.Config, format string) (float64, error) {
	cfg.Hosts = genSampleHosts
	st, err := gen.WriteAll(io.Discard, gen.New(cfg), format)
	if err != nil {
		return 0, fmt.Errorf("%v: %w", err, cli.ErrUsage)
	}
	return float64(st.Bytes) / genSampleHosts, nil
}

// parseSize reads a size such as 1GB, 1.5GiB, 500MB, 4096: decimal units
// for kB/MB/GB, binary for KiB/MiB/GiB.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
		{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1},
	}
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult > 1<<50 {
		return 0, fmt.Errorf("%q is not a size such as 1GB or 500MB", s)
	}
	return int64(v * mult), nil
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
