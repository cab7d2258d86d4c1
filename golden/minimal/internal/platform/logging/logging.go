// Package logging configures structured JSON logging.
//
// Attributes that identify a unit of work (request_id, tenant_id, user_id,
// trace_id, span_id) are put in the context with Add and are attached to
// every record logged with that context, so code just calls
// logger.InfoContext(ctx, ...).
//
// What is never logged: session tokens, cookies, the Authorization header,
// API keys, authorization codes and client secrets. Log ids (user_id,
// api_key_id), never credentials (a session id is one); the tests scan the
// logs of the whole suite for them.
package logging

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
)

// New returns a JSON logger writing to w at the given level that adds the
// context's attributes (see Add) to every record. The records are also
// given to each non-nil handler of also (such as the Sentry reporter of
// package telemetry), with the context's attributes.
func New(w io.Writer, level slog.Leveler, also ...slog.Handler) *slog.Logger {
	var next slog.Handler = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	handlers := []slog.Handler{next}
	for _, h := range also {
		if h != nil {
			handlers = append(handlers, h)
		}
	}
	if len(handlers) > 1 {
		next = slog.NewMultiHandler(handlers...)
	}
	return slog.New(NewHandler(next))
}

// Handler adds the attributes stored in a record's context to the record.
type Handler struct {
	next slog.Handler
}

// NewHandler wraps next.
func NewHandler(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := Attrs(ctx); len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}

type scopeKey struct{}

// scope holds the attributes of one unit of work. It is shared by every
// context derived from the one that started the unit, so attributes added
// deep in a request handler (a tenant resolved by a middleware) also appear
// on the request's log line written by an outer middleware.
type scope struct {
	mu    sync.Mutex
	attrs []slog.Attr
	route string
}

// Scope starts a unit of work (a request, a job) whose attributes start as
// a copy of those of ctx.
func Scope(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{attrs: Attrs(ctx)})
}

// Add attaches attributes to the unit of work of ctx; an attribute with a
// key already present replaces it. Without a unit of work, Add starts one.
// The returned context must be used when ctx had no unit of work.
func Add(ctx context.Context, attrs ...slog.Attr) context.Context {
	s, ok := ctx.Value(scopeKey{}).(*scope)
	if !ok {
		ctx = Scope(ctx)
		s = ctx.Value(scopeKey{}).(*scope)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range attrs {
		if i := slices.IndexFunc(s.attrs, func(b slog.Attr) bool { return b.Key == a.Key }); i >= 0 {
			s.attrs[i] = a
		} else {
			s.attrs = append(s.attrs, a)
		}
	}
	return ctx
}

// Attrs returns a copy of the attributes of the unit of work of ctx.
func Attrs(ctx context.Context) []slog.Attr {
	s, ok := ctx.Value(scopeKey{}).(*scope)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attrs)
}

// RecordRoute wraps next, an http.ServeMux or a handler passing the request
// unchanged to one, so that the pattern the mux matched appears as "route"
// on the request log line. With nested muxes the innermost pattern wins.
func RecordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux records the matched pattern on the request it is given.
		next.ServeHTTP(w, r)
		if s, ok := r.Context().Value(scopeKey{}).(*scope); ok {
			s.mu.Lock()
			if s.route == "" {
				s.route = r.Pattern
			}
			s.mu.Unlock()
		}
	})
}

// Route returns the route pattern recorded by RecordRoute for ctx's unit
// of work, or "" before the mux matched one (or when none matched).
func Route(ctx context.Context) string {
	s, ok := ctx.Value(scopeKey{}).(*scope)
	if !ok {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.route
}
