// Package metrics owns the application's Prometheus registry. Platform
// packages and modules register their series with the registry the
// composition root creates here; the HTTP handler serving it is
// promhttp.HandlerFor(registry, promhttp.HandlerOpts{}).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a registry holding the Go runtime and process series.
// A registry of our own, rather than prometheus.DefaultRegisterer, keeps
// tests independent of one another and of imported libraries.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
