// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/importapi"
	"portolan/internal/ingest"
)

// remoteIngestFlags are ingest's flags for sending files elsewhere than a
// store: to a serve's import endpoint (--server), or to the ingest bus
// (--bus), from which workers merge them.
type remoteIngestFlags struct {
	server    string
	token     string
	tokenFile string
	bus       busFlags
}

func addRemoteIngestFlags(fs *flag.FlagSet, env *cli.Env) *remoteIngestFlags {
	r := &remoteIngestFlags{}
	fs.StringVar(&r.server, "server", "", "send the files to the import endpoint of the serve at this `URL` (http://host:8080) instead of a store")
	fs.StringVar(&r.token, "token", "", "bearer token with the "+portolan.PermissionIngest+" role for --server (visible in ps: prefer --token-file or PORTOLAN_TOKEN)")
	fs.StringVar(&r.tokenFile, "token-file", "", "read the --server token from this `file` (mode 0600)")
	r.bus.add(fs, env)
	return r
}

// bearer returns the token: --token, else --token-file, else PORTOLAN_TOKEN.
func (r *remoteIngestFlags) bearer(env *cli.Env) (string, error) {
	switch {
	case r.token != "" && r.tokenFile != "":
		return "", fmt.Errorf("ingest: --token and --token-file exclude each other: %w", cli.ErrUsage)
	case r.token != "":
		return r.token, nil
	case r.tokenFile != "":
		return readSecretFile(r.tokenFile)
	}
	if t := env.Getenv("PORTOLAN_TOKEN"); t != "" {
		return t, nil
	}
	return "", fmt.Errorf("ingest: --server needs a token with the %s role: --token-file, --token or PORTOLAN_TOKEN (portolan token --roles %s mints one): %w", portolan.PermissionIngest, portolan.PermissionIngest, cli.ErrUsage)
}

// readSecretFile reads a secret, refusing a file others can read: a token
// left readable is a token given away.
func readSecretFile(name string) (string, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o; a secret file must be readable by its owner only (chmod 600 %s)", name, fi.Mode().Perm(), name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// remoteImport sends each input to the import endpoint of server, printing
// what a local ingest prints: one line per file, the rejections, the
// summary. The exit status follows the same rules.
func remoteImport(ctx context.Context, env *cli.Env, server, token string, names []string, open func(string) (io.ReadCloser, error), opts ingest.Options, progress bool, onReject func(*portolan.InputError)) (ingest.Summary, error) {
	base, err := url.Parse(strings.TrimSuffix(server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return ingest.Summary{}, fmt.Errorf("ingest: --server %q is not an http:// or https:// URL: %w", server, cli.ErrUsage)
	}
	// No overall timeout: a large file takes as long as it takes; the
	// server bounds the size.
	client := &http.Client{}
	var total ingest.Summary
	for _, name := range names {
		sum, err := remoteImportOne(ctx, env, client, base, token, name, open, opts, progress, onReject)
		var fatal *remoteFatal
		if err != nil && (errors.Is(err, context.Canceled) || errors.As(err, &fatal)) {
			// Not this file's fault (a refused token, an unreachable
			// server): every other file would fail the same way.
			total.Add(sum)
			return total, err
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "portolan: %s\n", userMessage(err))
			sum.Failed = 1
		}
		total.Add(sum)
		fmt.Fprintln(env.Stdout, fileLine(name, sum))
	}
	if total.Failed > 0 {
		return total, fmt.Errorf("%d of %d inputs could not be read to their end: %w", total.Failed, len(names), cli.ErrSilentExit)
	}
	return total, nil
}

// remoteFatal is an answer that no other file would get differently.
type remoteFatal struct{ msg string }

func (e *remoteFatal) Error() string { return e.msg }

func remoteImportOne(ctx context.Context, env *cli.Env, client *http.Client, base *url.URL, token, name string, open func(string) (io.ReadCloser, error), opts ingest.Options, progress bool, onReject func(*portolan.InputError)) (ingest.Summary, error) {
	f, err := open(name)
	if err != nil {
		return ingest.Summary{Files: 1}, err
	}
	defer f.Close()
	opts, size := withFileInfo(f, opts)
	q := url.Values{"name": {name}}
	if opts.Format != "" && opts.Format != "auto" {
		q.Set("format", opts.Format)
	}
	if opts.Port != 0 {
		q.Set("port", strconv.Itoa(opts.Port))
	}
	if !opts.ScannedAt.IsZero() {
		q.Set("scannedAt", opts.ScannedAt.UTC().Format(time.RFC3339))
	}
	if !opts.ModTime.IsZero() {
		q.Set("modTime", opts.ModTime.UTC().Format(time.RFC3339))
	}
	var body io.Reader = f
	if progress {
		// The server answers once, at the end, with the observations:
		// while the file streams, the bar shows the bytes sent and their
		// rate (the server imports as it reads, so that is its pace too).
		bar := progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(env.Stderr),
			progressbar.OptionSetDescription(name+": sending"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		defer bar.Finish()
		body = &sendProgress{r: f, bar: bar, name: name, size: size, start: time.Now()}
	}
	u := *base
	u.Path += importapi.Path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return ingest.Summary{Files: 1}, err
	}
	if size >= 0 {
		req.ContentLength = size
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ingest.Summary{Files: 1}, ctx.Err()
		}
		// The URL has no secret (the token travels in a header).
		return ingest.Summary{Files: 1}, &remoteFatal{msg: fmt.Sprintf("cannot reach %s: %v", base.Redacted(), errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg := graphErrorMessage(resp)
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable:
			return ingest.Summary{Files: 1}, &remoteFatal{msg: fmt.Sprintf("%s: the server answered %s: %s", name, resp.Status, msg)}
		}
		return ingest.Summary{Files: 1}, fmt.Errorf("%s: the server answered %s: %s", name, resp.Status, msg)
	}
	var ans importapi.Summary
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return ingest.Summary{Files: 1}, fmt.Errorf("%s: the server's answer is not an import summary: %w", name, err)
	}
	for _, rj := range ans.Rejections {
		ie := &portolan.InputError{File: name, Line: rj.Line, Offset: -1, Reason: rj.Reason}
		if rj.Offset != nil {
			ie.Offset = *rj.Offset
		}
		onReject(ie)
	}
	if ans.RejectionsTruncated {
		fmt.Fprintf(env.Stderr, "rejected: the server listed the first %d of %d rejections of %s\n", len(ans.Rejections), ans.Rejected, name)
	}
	sum := ingest.Summary{Files: 1, Format: ans.Format, Rejected: ans.Rejected, Notes: ans.Notes,
		ImportResult: portolan.ImportResult{Observations: ans.Observations, Created: ans.Created, Updated: ans.Updated, Duplicates: ans.Duplicates}}
	if ans.Published {
		sum.Notes = append(sum.Notes, name+": the server published it to the ingest bus; the workers merge it, so created, updated and duplicates are not known here")
	}
	if ans.Failed {
		return sum, errors.New(ans.Error)
	}
	return sum, nil
}

// graphErrorMessage is the message of a Graph error envelope, else the
// start of the body.
func graphErrorMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil && env.Error.Message != "" {
		return env.Error.Message
	}
	return portolan.CleanText(strings.TrimSpace(string(b)), 200)
}

// finishIngest prints the summary line and notes of an ingest that wrote
// elsewhere than a local store, and gives its exit status by the local
// ingest's rules.
func finishIngest(env *cli.Env, sum ingest.Summary, err error) error {
	fmt.Fprintf(env.Stdout, "ingested: %s\n", sum)
	for _, n := range sum.Notes {
		fmt.Fprintf(env.Stdout, "note: %s\n", n)
	}
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return cli.ErrSilentExit
	}
	return nil
}

// check refuses flags that do not go together.
func (r *remoteIngestFlags) check() error {
	if r.server != "" && r.bus.url != "" {
		return fmt.Errorf("ingest: --server and --bus exclude each other: %w", cli.ErrUsage)
	}
	return r.bus.check("ingest")
}

// publishFiles runs the ingest pipeline with the bus as its store: each
// batch returns once the stream has acknowledged all of it, so a file is
// reported done only when every observation is durable.
func publishFiles(ctx context.Context, env *cli.Env, bf *busFlags, names []string, open func(string) (io.ReadCloser, error), opts ingest.Options, progress bool, onReject func(*portolan.InputError)) (ingest.Summary, error) {
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := bf.open(ctx, "portolan ingest", logger)
	if err != nil {
		return ingest.Summary{}, err
	}
	defer b.Close()
	fmt.Fprintln(env.Stderr, b.Describe(ctx))
	pub := b.Publisher()
	pub.OnRetry = func(err error, wait time.Duration) {
		fmt.Fprintf(env.Stderr, "portolan: the bus did not take a batch (%v); retrying in %s\n", err, wait)
	}
	in := &ingest.Ingester{Store: pub, OnReject: onReject}
	sum, err := ingestFiles(ctx, env, in, names, open, opts, progress)
	if sum.Observations > 0 {
		fmt.Fprintf(env.Stdout, "published: %s to stream %s, acknowledged; the workers merge them\n", ingest.Plural(sum.Observations, "observation"), b.Config().Stream)
	}
	return sum, err
}

// sendProgress draws the bytes of a file sent to the import endpoint, of how
// many, and the rate since the request began.
type sendProgress struct {
	r    io.Reader
	bar  *progressbar.ProgressBar
	name string
	// size is the file's, -1 when unknown (a pipe).
	size        int64
	sent        int64
	start, last time.Time
}

func (p *sendProgress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	// The bar throttles its drawing; formatting the description on every
	// read would still cost more than the read.
	now := time.Now()
	if now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.bar.Describe(sendDescription(p.name, p.sent, p.size, now.Sub(p.start)))
	}
	_ = p.bar.Set64(p.sent)
	return n, err
}

// sendDescription is the bar's text: "scan.xml: sent 12.5 MB of 48.0 MB (9.6 MB/s)".
func sendDescription(name string, sent, size int64, elapsed time.Duration) string {
	s := name + ": sent " + humanBytes(float64(sent))
	if size >= 0 {
		s += " of " + humanBytes(float64(size))
	}
	rate := float64(sent) / max(elapsed.Seconds(), 1e-3)
	return s + " (" + humanBytes(rate) + "/s)"
}

// humanBytes writes n bytes in decimal units, as the bar does.
func humanBytes(n float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
