package logging

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// StatusClientClosedRequest is the status recorded for a request whose
// client went away before the answer (nginx's 499). The client never sees
// it; the request's log line and metrics do.
const StatusClientClosedRequest = 499

// Middleware starts a unit of work for every request and, when the request
// is done, writes exactly one "request" record with the request's
// attributes (request_id, tenant_id, user_id, trace_id, span_id: whatever
// the inner handlers added), method, route pattern (never the raw path,
// which can carry ids and tokens), status, response size and duration_ms.
//
// The record is at level DEBUG for the routes in quiet (health probes,
// whose failures their handlers log), ERROR for a 5xx, WARN for a 429 and
// INFO otherwise. A request whose client
// went away (its context cancelled, not by the shutdown) is recorded as 499
// at INFO, whatever the handler answered: it is not a server error.
func Middleware(logger *slog.Logger, quiet ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ctx := Scope(r.Context())
			rec := &statusRecorder{ResponseWriter: w}
			r = r.WithContext(ctx)
			next.ServeHTTP(rec, r)

			pattern := RouteOf(r)
			status := Status(r, rec.status())
			level := slog.LevelInfo
			switch {
			case slices.Contains(quiet, pattern):
				level = slog.LevelDebug
			case status >= 500:
				level = slog.LevelError
			case status == http.StatusTooManyRequests:
				level = slog.LevelWarn
			}
			logger.LogAttrs(ctx, level, "request",
				slog.String("method", r.Method),
				slog.String("route", pattern),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			)
		})
	}
}

// RouteOf returns the route pattern of r, a request whose unit of work
// Middleware started: the pattern RecordRoute recorded, else the one of
// the mux that r itself was given to, else "unmatched". It is the route
// label of metrics and the route of the request line.
func RouteOf(r *http.Request) string {
	if p := Route(r.Context()); p != "" {
		return p
	}
	if r.Pattern != "" {
		return r.Pattern
	}
	return "unmatched"
}

// Status returns the status to record for r, answered with written:
// StatusClientClosedRequest when the client went away (r's context was
// cancelled by net/http, not by the server's shutdown, which cancels with
// a cause of its own) and the answer was a server error.
func Status(r *http.Request, written int) int {
	ctx := r.Context()
	if written >= 500 && ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return StatusClientClosedRequest
	}
	return written
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
