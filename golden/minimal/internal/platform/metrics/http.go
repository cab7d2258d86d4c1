package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/minimal/internal/platform/logging"
)

// HTTP holds the request series: http_requests_total{method,route,
// status_class}, http_request_duration_seconds{method,route} and
// http_requests_in_flight.
//
// Their cardinality is bounded by construction: route is the pattern the
// mux matched (or "unmatched"), never the raw path; method is one of the
// standard methods or "other"; status_class is 1xx to 5xx. With tenant
// labels on (METRICS_TENANT_LABELS=true), http_requests_total also carries
// tenant (the tenant id, "" before one is known): its series count is then
// multiplied by the number of active tenants, so keep that for deployments
// with few tenants.
type HTTP struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	tenantLabels bool
}

// NewHTTP creates the request series and registers them with reg.
func NewHTTP(reg prometheus.Registerer, tenantLabels bool) (*HTTP, error) {
	labels := []string{"method", "route", "status_class"}
	if tenantLabels {
		labels = append(labels, "tenant")
	}
	m := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status class (a request whose client went away counts as 4xx: 499).",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		tenantLabels: tenantLabels,
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register HTTP series: %w", err)
		}
	}
	return m, nil
}

// Middleware records every request. Put it inside logging.Middleware, whose
// unit of work carries the route pattern and the tenant.
func (m *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)

		method, route := Method(r.Method), logging.RouteOf(r)
		class := StatusClass(logging.Status(r, rec.code))
		if m.tenantLabels {
			m.requests.WithLabelValues(method, route, class, tenant(r)).Inc()
		} else {
			m.requests.WithLabelValues(method, route, class).Inc()
		}
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	})
}

func tenant(r *http.Request) string {
	for _, a := range logging.Attrs(r.Context()) {
		if a.Key == "tenant_id" {
			return a.Value.String()
		}
	}
	return ""
}

// Method returns m as a label value: one of the standard methods, or
// "other", so that a client cannot create series at will.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	default:
		return "other"
	}
}

// StatusClass returns "2xx" for 200 to 299, and so on.
func StatusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// statusWriter records the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
