package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the queue's Prometheus metrics. Kinds are a small fixed set,
// so they are safe labels; tenants never are.
type metrics struct {
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wait     *prometheus.HistogramVec
}

// jobBuckets span quick jobs to long exports, in seconds.
var jobBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

func newMetrics(reg prometheus.Registerer, q *Queue) (*metrics, error) {
	m := &metrics{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobs_finished_total",
			Help: "Job attempts finished, by kind and outcome (completed, failed, retried, cancelled).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jobs_duration_seconds",
			Help:    "Time one attempt of a job ran, by kind.",
			Buckets: jobBuckets,
		}, []string{"kind"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jobs_wait_seconds",
			Help:    "Time from enqueue to the start of a job's first attempt, by kind.",
			Buckets: jobBuckets,
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{m.finished, m.duration, m.wait, depthCollector{q}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("jobs: register metrics: %w", err)
		}
	}
	return m, nil
}

var depthDesc = prometheus.NewDesc("jobs_queue_depth", "Jobs waiting to run (ready, scheduled or waiting for a retry), by queue.", []string{"queue"}, nil)

// depthTimeout bounds the query behind jobs_queue_depth during a scrape.
const depthTimeout = 2 * time.Second

// depthCollector asks the backend for the queue's depth at scrape time.
type depthCollector struct{ q *Queue }

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), depthTimeout)
	defer cancel()
	n, err := c.q.backend.depth(ctx)
	if err != nil {
		// A scrape must not fail because the queue is unreachable: the
		// gauge is missing and /readyz tells the rest.
		c.q.logger.WarnContext(ctx, "jobs_queue_depth: read queue depth", "error", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n), c.q.cfg.Queue)
}
