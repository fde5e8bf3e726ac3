// SPDX-License-Identifier: Apache-2.0

// Package metrics exports what serve, worker and ingest do in the
// Prometheus format, with the official client library: serve's requests,
// response cache and refused tokens (as an httpapi.Observer), its imports
// (as an importapi.Observer) and the store's size on a listener of their
// own; a worker's merges on its own listener; and an ingest run's counts to
// a file for the node_exporter textfile collector (an ingest is too
// short-lived to be scraped).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"portolan/internal/httpapi"
	"portolan/internal/importapi"
)

// Serve holds serve's metrics.
type Serve struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	cache    *prometheus.CounterVec
	refused  *prometheus.CounterVec
	// What POST /portolan/v1/imports did, by format.
	importObservations *prometheus.CounterVec
	importRejected     *prometheus.CounterVec
	importDuration     *prometheus.HistogramVec
}

// requestBuckets are latency buckets (seconds) from a cached answer
// (~50 µs) to a slow search.
var requestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// importBuckets are import durations (seconds), from a small file (a few
// milliseconds) to the hour an import request may last (serve's
// importTimeout); worker transactions fall in the same range.
var importBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

// NewServe registers serve's metrics, the Go runtime's and the process's.
// storeBytes, when not nil, reports the store's size on each scrape.
func NewServe(storeBytes func(context.Context) (int64, error)) *Serve {
	m := &Serve{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "portolan", Name: "http_request_duration_seconds",
		Help:    "API requests by route and status, with their latency.",
		Buckets: requestBuckets,
	}, []string{"route", "code"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "portolan", Name: "response_cache_lookups_total",
		Help: "Looks into the response cache, by result (hit or miss).",
	}, []string{"result"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "portolan", Name: "tokens_refused_total",
		Help: "Refused bearer tokens, by reason (missing, expired, signature, audience, issuer, permission, invalid).",
	}, []string{"reason"})
	m.importObservations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "portolan", Subsystem: "import", Name: "observations_total",
		Help: "Valid observations of imports through POST /portolan/v1/imports (stored, or published to the bus with --bus), by format.",
	}, []string{"format"})
	m.importRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "portolan", Subsystem: "import", Name: "rejected_total",
		Help: "Records of imports through POST /portolan/v1/imports that were rejected, by format.",
	}, []string{"format"})
	m.importDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "portolan", Subsystem: "import", Name: "duration_seconds",
		Help:    "Imports through POST /portolan/v1/imports, by format and result (ok, or failed: not read to the end, not a known format, too large, canceled), with their duration.",
		Buckets: importBuckets,
	}, []string{"format", "result"})
	m.registry.MustRegister(m.requests, m.cache, m.refused, m.importObservations, m.importRejected, m.importDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if storeBytes != nil {
		m.registry.MustRegister(&sizeCollector{size: storeBytes, desc: prometheus.NewDesc("portolan_store_bytes",
			"Size of the store on disk (the embedded database with its WAL, or the PostgreSQL database).", nil, nil)})
	}
	for _, r := range []string{"hit", "miss"} {
		m.cache.WithLabelValues(r)
	}
	for _, r := range []string{"missing", "expired", "signature", "audience", "issuer", "permission", "invalid"} {
		m.refused.WithLabelValues(r)
	}
	return m
}

var _ httpapi.Observer = (*Serve)(nil)

// Request counts one answered request.
func (m *Serve) Request(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}

// CacheLookup counts one look into the response cache.
func (m *Serve) CacheLookup(hit bool) {
	if hit {
		m.cache.WithLabelValues("hit").Inc()
	} else {
		m.cache.WithLabelValues("miss").Inc()
	}
}

// TokenRefused counts one refused token.
func (m *Serve) TokenRefused(reason string) { m.refused.WithLabelValues(reason).Inc() }

var _ importapi.Observer = (*Serve)(nil)

// Import counts one import through the import endpoint. A body of no known
// format is counted under "unknown".
func (m *Serve) Import(format string, observations, rejected int, d time.Duration, failed bool) {
	if format == "" {
		format = "unknown"
	}
	result := "ok"
	if failed {
		result = "failed"
	}
	m.importObservations.WithLabelValues(format).Add(float64(observations))
	m.importRejected.WithLabelValues(format).Add(float64(rejected))
	m.importDuration.WithLabelValues(format, result).Observe(d.Seconds())
}

// Handler serves the metrics in the exposition format.
func (m *Serve) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// WorkerCounts are a worker's counts so far (bus.WorkerStats, read when
// scraped).
// The number of transactions is the count of the duration histogram.
type WorkerCounts struct {
	Messages                                            int64
	Observations, Created, Updated, Duplicates, Refused int64
}

// Worker holds the metrics of `portolan worker`.
type Worker struct {
	registry     *prometheus.Registry
	transactions prometheus.Histogram
}

// NewWorker registers a worker's metrics, the Go runtime's and the
// process's. The counters are the worker's own, read from counts on each
// scrape, so that the log line and /metrics never disagree; the duration
// of each transaction is observed with Transaction.
func NewWorker(counts func() WorkerCounts) *Worker {
	m := &Worker{registry: prometheus.NewRegistry()}
	m.transactions = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "portolan", Subsystem: "worker", Name: "transaction_duration_seconds",
		Help:    "Store transactions that merged a batch of the ingest bus (retries while the store was unavailable included).",
		Buckets: importBuckets,
	})
	m.registry.MustRegister(m.transactions, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range []struct {
		name, help string
		value      func(WorkerCounts) int64
	}{
		{"batches_total", "Batches (bus messages, one per publish of ingest --bus or serve --bus) merged and acknowledged.", func(c WorkerCounts) int64 { return c.Messages }},
		{"observations_merged_total", "Observations merged into the store (duplicates included).", func(c WorkerCounts) int64 { return c.Observations }},
		{"records_created_total", "hostPort records the worker's merges created.", func(c WorkerCounts) int64 { return c.Created }},
		{"records_updated_total", "hostPort records the worker's merges changed.", func(c WorkerCounts) int64 { return c.Updated }},
		{"duplicates_total", "Observations that were already stored.", func(c WorkerCounts) int64 { return c.Duplicates }},
		{"refused_total", "Records the store refused (logged and dropped; the rest of their batch was merged).", func(c WorkerCounts) int64 { return c.Refused }},
	} {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "portolan", Subsystem: "worker", Name: c.name, Help: c.help,
		}, func() float64 { return float64(c.value(counts())) }))
	}
	return m
}

// Transaction observes the duration of one committed transaction.
func (m *Worker) Transaction(d time.Duration) { m.transactions.Observe(d.Seconds()) }

// Handler serves the metrics in the exposition format.
func (m *Worker) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// sizeCollector asks the store its size at scrape time.
type sizeCollector struct {
	size func(context.Context) (int64, error)
	desc *prometheus.Desc
}

func (c *sizeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sizeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.size(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}

// Ingest is what one `portolan ingest` run did.
type Ingest struct {
	Files, Failed                      int
	Observations, Rejected, Duplicates int
	Created, Updated                   int
	Duration                           time.Duration
	Finished                           time.Time
	// OK is false when anything was rejected or a file failed.
	OK bool
}

// WriteIngest writes run to path in the text format, for node_exporter's
// textfile collector (the file is replaced atomically).
func WriteIngest(path string, run Ingest) error {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "portolan", Subsystem: "ingest", Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	gauge("files", "Files given to the last ingest run.", float64(run.Files))
	gauge("files_failed", "Files of the last ingest run that could not be read to their end.", float64(run.Failed))
	gauge("observations", "Observations the last ingest run stored or found already stored.", float64(run.Observations))
	gauge("rejected", "Records of the last ingest run that were rejected.", float64(run.Rejected))
	gauge("duplicates", "Observations of the last ingest run that were already stored.", float64(run.Duplicates))
	gauge("records_created", "hostPort records the last ingest run created.", float64(run.Created))
	gauge("records_updated", "hostPort records the last ingest run changed.", float64(run.Updated))
	gauge("duration_seconds", "How long the last ingest run took.", run.Duration.Seconds())
	gauge("finished_timestamp_seconds", "When the last ingest run finished (Unix time).", float64(run.Finished.Unix()))
	ok := 0.0
	if run.OK {
		ok = 1
	}
	gauge("success", "1 when the last ingest run read every file and rejected nothing.", ok)
	return prometheus.WriteToTextfile(path, reg)
}
