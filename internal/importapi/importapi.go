// SPDX-License-Identifier: Apache-2.0

// Package importapi is remote ingest over HTTP: POST /portolan/v1/imports
// takes a scanner file as the request body, streams it through the ingest
// pipeline into an ObservationService (the store, or the ingest bus when
// serve has --bus) and answers the import's summary as JSON. It writes no
// error itself: the handler returns domain errors, and the Graph API server
// that mounts it (httpapi.Server.Mount) turns them into the error envelope.
package importapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"portolan"
	"portolan/internal/ingest"
)

// Path is where the endpoint is mounted.
const Path = "/portolan/v1/imports"

// DefaultMaxBytes is the largest request body accepted unless configured:
// large enough for an hour of a busy ZMap box, small enough that one caller
// cannot hold a server busy indefinitely.
const DefaultMaxBytes = 1 << 30

// DefaultMaxListedRejections bounds the rejections the answer lists; the
// count in "rejected" covers them all. A badly broken file must not make the
// answer (which is held in memory) grow with the file.
const DefaultMaxListedRejections = 1000

// Handler is the import endpoint.
type Handler struct {
	// Verifier authorizes the caller for portolan.PermissionIngest; it
	// must implement portolan.PermissionVerifier (otherwise every import
	// is refused with 403).
	Verifier portolan.TokenVerifier
	// Store receives the observations: the store itself, or a bus
	// publisher that returns once they are durable on the stream.
	Store portolan.ObservationService
	// SortDir, when set, is where an import puts the sorted runs that
	// store it in host order (ingest.Options.Sort); empty, each body is
	// stored in its own order.
	SortDir string
	// Concurrency is how many batches of an import are stored at once
	// (ingest.Ingester.Concurrency; 0: one).
	Concurrency int
	// MaxBytes bounds the request body (0: DefaultMaxBytes); beyond, 413.
	MaxBytes int64
	// MaxListedRejections bounds the rejections listed in the answer (0:
	// DefaultMaxListedRejections).
	MaxListedRejections int
	// Logger receives one line per import; nil discards.
	Logger *slog.Logger
	// OnImported, when set, is called after an import that stored
	// anything (a response cache must not outlive it).
	OnImported func()
	// Observer, when set, is told of every import the pipeline read,
	// for serve's metrics.
	Observer Observer
}

// Observer is told what each import did: an authorized request whose body
// went through the pipeline, whatever became of it. Format is the one the
// body was read as ("empty"; "" when no format was recognised); failed is
// set when the import did not end in a 200 that read the whole body.
type Observer interface {
	Import(format string, observations, rejected int, d time.Duration, failed bool)
}

// Rejection is one record that was not imported, with its position.
type Rejection struct {
	// Line is 1-based, 0 when unknown.
	Line int `json:"line,omitempty"`
	// Offset is the byte offset of the record, omitted when unknown.
	Offset *int64 `json:"offset,omitempty"`
	Reason string `json:"reason"`
}

// Summary is the answer to an import. Its counts are those of the ingest
// command's summary line.
type Summary struct {
	Name         string      `json:"name"`
	Format       string      `json:"format"`
	Observations int         `json:"observations"`
	Created      int         `json:"created"`
	Updated      int         `json:"updated"`
	Duplicates   int         `json:"duplicates"`
	Rejected     int         `json:"rejected"`
	Rejections   []Rejection `json:"rejections"`
	// RejectionsTruncated says the list holds only the first rejections.
	RejectionsTruncated bool     `json:"rejectionsTruncated,omitempty"`
	Notes               []string `json:"notes,omitempty"`
	// Failed is set when the body could not be read to its end (a
	// truncated scan); Error then says why, and what came before was
	// imported.
	Failed bool   `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
	// Published is set when the observations went to the ingest bus: they
	// are durable there, and workers merge them shortly, so Created and
	// Updated are 0 and Duplicates is unknown.
	Published bool `json:"published,omitempty"`
}

// queryParameters are the options an import takes; any other is a 400, as
// the Graph API refuses options it does not know.
var queryParameters = []string{"format", "name", "port", "scannedAt", "modTime"}

// ServeImport handles POST Path.
func (h *Handler) ServeImport(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return portolan.Errorf(portolan.ENOTALLOWED, "The method '%s' is not allowed on this resource; only POST is.", r.Method)
	}
	if _, err := h.authorize(r); err != nil {
		return err
	}
	opts, name, err := options(r)
	if err != nil {
		return err
	}
	limit := h.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	// A body announced too large is refused before a byte of it is read.
	if r.ContentLength > limit {
		return tooBig(limit)
	}
	body := &limitedReader{r: r.Body, left: limit}
	listMax := h.MaxListedRejections
	if listMax <= 0 {
		listMax = DefaultMaxListedRejections
	}
	sum := Summary{Name: name, Rejections: []Rejection{}}
	in := &ingest.Ingester{Store: h.Store, OnReject: func(ie *portolan.InputError) {
		if len(sum.Rejections) >= listMax {
			sum.RejectionsTruncated = true
			return
		}
		rj := Rejection{Line: ie.Line, Reason: ie.Reason}
		if ie.Offset >= 0 && ie.Line == 0 {
			off := ie.Offset
			rj.Offset = &off
		}
		sum.Rejections = append(sum.Rejections, rj)
	}, Concurrency: h.Concurrency}
	opts.Sort, opts.SortDir = h.SortDir != "", h.SortDir
	start := time.Now()
	res, err := in.Ingest(r.Context(), name, body, opts)
	if h.OnImported != nil && res.Observations > 0 {
		h.OnImported()
	}
	sum.Format = res.Format
	sum.Observations, sum.Created, sum.Updated, sum.Duplicates = res.Observations, res.Created, res.Updated, res.Duplicates
	sum.Rejected = res.Rejected
	sum.Notes = res.Notes
	_, sum.Published = h.Store.(publisher)
	if h.Observer != nil {
		h.Observer.Import(sum.Format, sum.Observations, sum.Rejected, time.Since(start), err != nil || body.exceeded)
	}
	if h.Logger != nil {
		h.Logger.LogAttrs(r.Context(), slog.LevelInfo, "import", slog.String("name", name), slog.String("format", sum.Format),
			slog.Int("observations", sum.Observations), slog.Int("rejected", sum.Rejected),
			slog.Duration("duration", time.Since(start)), slog.Bool("failed", err != nil))
	}
	switch {
	case body.exceeded:
		return portolan.Errorf(portolan.ETOOBIG, "The request body is larger than the %d bytes an import accepts; the %d observations read before the limit were imported. Split the file.", limit, sum.Observations)
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, new(*ingest.StoreError)):
		// The store's failure, not the caller's: its own code (503 for
		// an unreachable database), the cause only in the log.
		return err
	case portolan.ErrorCode(err) == portolan.EINVALID && sum.Observations == 0 && sum.Rejected == 0:
		// Unknown format, or not the format ?format= names: nothing was
		// read, so the whole request is refused.
		return portolan.WrapError(portolan.EINVALID, err, "%s", strings.Replace(portolan.ErrorMessage(err), "pass --format", "pass ?format=", 1))
	default:
		// The body stopped being readable part-way (a truncated scan):
		// what came before is imported, and the answer says so.
		sum.Failed = true
		sum.Error = portolan.ErrorMessage(err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(sum)
}

// publisher is implemented by the bus publisher: its imports are
// published, not merged yet.
type publisher interface{ Published() bool }

// authorize checks the bearer token for portolan.PermissionIngest.
func (h *Handler) authorize(r *http.Request) (*portolan.Principal, error) {
	pv, ok := h.Verifier.(portolan.PermissionVerifier)
	if !ok {
		return nil, portolan.Errorf(portolan.EFORBIDDEN, "This server does not accept imports.")
	}
	token := bearerToken(r.Header.Get("Authorization"))
	p, err := pv.VerifyTokenFor(r.Context(), token, portolan.PermissionIngest)
	if err != nil {
		if h.Logger != nil {
			h.Logger.LogAttrs(r.Context(), slog.LevelWarn, "import token refused", slog.String("reason", err.Error()))
		}
		if portolan.ErrorCode(err) == portolan.EFORBIDDEN {
			return nil, portolan.WrapError(portolan.EFORBIDDEN, err, "Missing permission on the request. The import API requires '%s'.", portolan.PermissionIngest)
		}
		return nil, err
	}
	return p, nil
}

// bearerToken returns the token of "Authorization: Bearer <t>", "" for any
// other header (the verifier refuses "" as a missing token).
func bearerToken(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// options reads the query: format (auto-detected when absent), name (the
// file name rejections are reported under), port, scannedAt and modTime
// (RFC 3339; the time of records that carry none, as the ingest command's
// --scanned-at and the file's modification time).
func options(r *http.Request) (ingest.Options, string, error) {
	q := r.URL.Query()
	for k, v := range q {
		if !slices.Contains(queryParameters, k) {
			return ingest.Options{}, "", portolan.Errorf(portolan.EINVALID, "The query parameter '%s' is not supported; the import takes %s.", clip(k), strings.Join(queryParameters, ", "))
		}
		if len(v) > 1 {
			return ingest.Options{}, "", portolan.Errorf(portolan.EINVALID, "The query parameter '%s' is repeated.", k)
		}
	}
	opts := ingest.Options{Format: q.Get("format")}
	if opts.Format != "" && opts.Format != "auto" && !slices.Contains(ingest.FormatNames(), opts.Format) {
		return opts, "", portolan.Errorf(portolan.EINVALID, "The format '%s' is not known; the formats are %s.", clip(opts.Format), strings.Join(ingest.FormatNames(), ", "))
	}
	name := q.Get("name")
	if name == "" {
		name = "body"
	}
	name = portolan.CleanText(name, 256)
	if v := q.Get("port"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return opts, "", portolan.Errorf(portolan.EINVALID, "The port '%s' is not a number in 0..65535.", clip(v))
		}
		opts.Port = n
	}
	for _, p := range []struct {
		key string
		to  *time.Time
	}{{"scannedAt", &opts.ScannedAt}, {"modTime", &opts.ModTime}} {
		if v := q.Get(p.key); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return opts, "", portolan.Errorf(portolan.EINVALID, "The %s '%s' is not an RFC 3339 time such as 2026-12-01T14:00:00Z.", p.key, clip(v))
			}
			*p.to = t
		}
	}
	return opts, name, nil
}

func clip(s string) string { return portolan.CleanText(s, 64) }

func tooBig(limit int64) error {
	return portolan.Errorf(portolan.ETOOBIG, "The request body is larger than the %d bytes an import accepts. Split the file.", limit)
}

// limitedReader reads at most left bytes and remembers whether the body
// went beyond: the readers of the pipeline may wrap the error it returns in
// their own, and exceeded tells the handler to answer 413 whatever they
// made of it.
type limitedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

// errBodyTooLarge ends reading at the limit.
var errBodyTooLarge = fmt.Errorf("importapi: request body over the limit")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.exceeded = true
			return 0, errBodyTooLarge
		}
		return 0, err // nil (the caller reads again) or the end
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
