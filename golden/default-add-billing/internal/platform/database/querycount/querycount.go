// Package querycount counts the database round trips made on behalf of each
// request, to catch N+1 query patterns before they reach production.
//
// A round trip is one statement sent on its own (Query, QueryRow, Exec, and
// the BEGIN/COMMIT/ROLLBACK of pgx.Tx) or one batch, however many statements
// it carries: latency grows with round trips, and a loop of queries shows up
// as one round trip per iteration.
package querycount

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Counter counts round trips. The zero value is ready to use and safe for
// concurrent use.
type Counter struct {
	n atomic.Int64
}

// Count returns the number of round trips counted so far.
func (c *Counter) Count() int { return int(c.n.Load()) }

type contextKey struct{}

// WithCounter returns a context in which every round trip made through a
// pool traced by Tracer is counted by c.
func WithCounter(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the counter of ctx, or nil.
func FromContext(ctx context.Context) *Counter {
	c, _ := ctx.Value(contextKey{}).(*Counter)
	return c
}

// Tracer is a pgx tracer that counts round trips on the Counter of the
// statement's context. Set it as pgx.ConnConfig.Tracer (with
// github.com/jackc/pgx/v5/multitracer when there are other tracers).
type Tracer struct{}

var (
	_ pgx.QueryTracer = Tracer{}
	_ pgx.BatchTracer = Tracer{}
)

func count(ctx context.Context) {
	if c := FromContext(ctx); c != nil {
		c.n.Add(1)
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (Tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	count(ctx)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (Tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (Tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	count(ctx)
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (Tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (Tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// Metrics holds the Prometheus series of this package.
type Metrics struct {
	exceeded *prometheus.CounterVec
	perReq   prometheus.Histogram
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		exceeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "db_query_budget_exceeded_total",
			Help: "Requests that made more database round trips than QUERY_BUDGET, by route pattern.",
		}, []string{"route"}),
		perReq: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "db_queries_per_request",
			Help:    "Database round trips made by one request.",
			Buckets: []float64{0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89},
		}),
	}
	for _, c := range []prometheus.Collector{m.exceeded, m.perReq} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Exceeded returns the counter of requests to route that went over budget.
func (m *Metrics) Exceeded(route string) prometheus.Counter {
	return m.exceeded.WithLabelValues(route)
}

// Middleware counts the round trips of each request and observes the count
// in db_queries_per_request. When a request makes more than budget, it logs a warning with the route pattern and the count
// and increments db_query_budget_exceeded_total.
//
// The route is the pattern matched by the http.ServeMux that next is (or
// wraps without copying the request), so put Middleware directly around the
// mux; requests the mux did not match are reported as route "unmatched".
func Middleware(budget int, logger *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A request already counted (by a test measuring the whole
			// request) keeps its counter.
			inner := r
			c := FromContext(r.Context())
			if c == nil {
				c = new(Counter)
				inner = r.WithContext(WithCounter(r.Context(), c))
			}
			before := c.Count()
			// The mux records the matched pattern on the request it is
			// given, so read it from that request after it returns.
			next.ServeHTTP(w, inner)
			n := c.Count() - before
			m.perReq.Observe(float64(n))
			if n > budget {
				route := inner.Pattern
				if route == "" {
					route = "unmatched"
				}
				logger.WarnContext(inner.Context(), "query budget exceeded",
					"route", route, "queries", n, "budget", budget)
				m.Exceeded(route).Inc()
			}
		})
	}
}
