// SPDX-License-Identifier: Apache-2.0

// Package metrics exports what serve and ingest do in the Prometheus format,
// with the official client library: serve's requests, response cache and
// refused tokens (as an httpapi.Observer) and the store's size on a
// listener of their own, and an ingest run's counts to a file for the
// node_exporter textfile collector (an ingest is too short-lived to be
// scraped).
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
)

// Serve holds serve's metrics.
type Serve struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	cache    *prometheus.CounterVec
	refused  *prometheus.CounterVec
}

// requestBuckets are latency buckets (seconds) from a cached answer
// (~50 µs) to a slow search.
var requestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

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
	m.registry.MustRegister(m.requests, m.cache, m.refused,
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

// Handler serves the metrics in the exposition format.
func (m *Serve) Handler() http.Handler {
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
