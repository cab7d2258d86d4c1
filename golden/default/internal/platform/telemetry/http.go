package telemetry

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"shop/internal/platform/logging"
)

// Middleware traces each request and gives it its Sentry scope. Put it
// inside logging.Middleware (it adds trace_id and span_id to the request's
// log attributes, and reads its route and tenant) and outside the request
// id, recovery and routing. With tracing and Sentry off it returns next
// itself: nothing runs per request.
func (t *Telemetry) Middleware(next http.Handler) http.Handler {
	h := next
	if t.Reporting() {
		h = t.sentryScope(h)
	}
	if t.Tracing() {
		h = otelhttp.NewHandler(annotate(h), "http.server",
			otelhttp.WithTracerProvider(t.provider),
			otelhttp.WithPropagators(t.propagator),
			// Renamed to the route pattern once the mux has matched it.
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
		)
	}
	return h
}

// annotate links the request's span and its log line both ways: trace_id
// and span_id on every log record of the request; the route pattern as the
// span's name, and the tenant and user as its attributes.
func annotate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		sc := span.SpanContext()
		logging.Add(ctx, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		next.ServeHTTP(w, r)

		route := logging.Route(ctx)
		if route == "" {
			route = r.Method + " unmatched"
		}
		span.SetName(route)
		span.SetAttributes(attribute.String("http.route", route))
		span.SetAttributes(identity(ctx)...)
	})
}

type requestKey struct{}

// sentryScope records, for the events of each request, the request's
// method and URL path: never its headers, cookies or query string (signed
// links carry their signature there).
func (t *Telemetry) sentryScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		req := &sentry.Request{Method: r.Method, URL: scheme + "://" + r.Host + r.URL.Path}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, req)))
	})
}
