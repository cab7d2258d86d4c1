package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace/noop"

	"example.com/minimal/internal/platform/httpx"
	"example.com/minimal/internal/platform/logging"
	"example.com/minimal/internal/platform/telemetry"
	"example.com/minimal/internal/platform/telemetry/telemetrytest"
)

// noEnv is an environment without any OTEL_* variable.
func noEnv(string) (string, bool) { return "", false }

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func start(t *testing.T, opts telemetry.Options) *telemetry.Telemetry {
	t.Helper()
	if opts.Service == "" {
		opts.Service = "minimal-test"
	}
	tel, err := telemetry.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

// stack is the platform's middleware around mux, as the application
// composes it, with tel's middleware (none when tel is nil).
func stack(logger *slog.Logger, tel *telemetry.Telemetry, mux *http.ServeMux) http.Handler {
	h := logging.RecordRoute(mux)
	h = httpx.Recover(logger)(h)
	h = httpx.WithRequestID(h)
	if tel != nil {
		h = tel.Middleware(h)
	}
	return logging.Middleware(logger)(h)
}

func TestOffWithoutEndpoint(t *testing.T) {
	tel := start(t, telemetry.Options{LookupEnv: noEnv})
	if tel.Tracing() || tel.Reporting() {
		t.Fatalf("tracing %v, reporting %v without endpoint nor DSN", tel.Tracing(), tel.Reporting())
	}
	mux := http.NewServeMux()
	if h := tel.Middleware(mux); h != http.Handler(mux) {
		t.Errorf("Middleware wraps the handler while off: %T", h)
	}
	if tel.SQLTracer() != nil || tel.Jobs() != nil || tel.LogHandler() != nil {
		t.Error("hooks installed while off")
	}
	// Off as well when asked explicitly, with an endpoint set.
	for _, vars := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"},
	} {
		if tel := start(t, telemetry.Options{LookupEnv: env(vars)}); tel.Tracing() {
			t.Errorf("tracing on with %v", vars)
		}
	}
	var none *telemetry.Telemetry
	if none.Tracing() || none.Middleware(mux) != http.Handler(mux) || none.Shutdown(t.Context()) != nil {
		t.Error("a nil *Telemetry is not off")
	}
}

func TestUnsupportedSettingsAreErrors(t *testing.T) {
	for _, c := range []struct{ vars map[string]string }{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}},
	} {
		_, err := telemetry.Start(t.Context(), telemetry.Options{LookupEnv: env(c.vars)})
		if err == nil {
			t.Errorf("%v: no error", c.vars)
			continue
		}
		for k, v := range c.vars {
			if strings.HasSuffix(k, "PROTOCOL") || k == "OTEL_TRACES_EXPORTER" {
				if !strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s=%s", err, k, v)
				}
			}
		}
	}
	if _, err := telemetry.Start(t.Context(), telemetry.Options{LookupEnv: noEnv, SentryDSN: "not a dsn"}); err == nil {
		t.Error("a bad DSN is accepted")
	}
}

// TestRequestSpanReachesOTLPReceiver: a request's span, named after its
// route pattern and carrying its tenant, reaches a real OTLP/HTTP endpoint,
// and the request's log line carries the span's ids.
func TestRequestSpanReachesOTLPReceiver(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	rc.Setenv(t)
	t.Setenv("OTEL_SERVICE_NAME", "traced-service")
	tel := start(t, telemetry.Options{})
	if !tel.Tracing() {
		t.Fatal("tracing off with an endpoint")
	}
	var logs bytes.Buffer
	logger := logging.New(&logs, slog.LevelInfo)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		logging.Add(r.Context(), slog.String("tenant_id", "tenant-7"), slog.String("user_id", "user-3"))
		w.WriteHeader(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	stack(logger, tel, mux).ServeHTTP(rec, httptest.NewRequest("GET", "/things/42?token=abc", nil))
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	span := rc.WaitSpan(t, "GET /things/{id}")
	if span.Attributes["tenant.id"] != "tenant-7" || span.Attributes["enduser.id"] != "user-3" || span.Attributes["http.route"] != "GET /things/{id}" {
		t.Errorf("span attributes = %v", span.Attributes)
	}
	if span.Service != "traced-service" {
		t.Errorf("service.name = %q, want OTEL_SERVICE_NAME's", span.Service)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON request line, got %s", logs.String())
	}
	if line["trace_id"] != span.TraceID || line["span_id"] != span.SpanID {
		t.Errorf("request line ids %v/%v, span %s/%s", line["trace_id"], line["span_id"], span.TraceID, span.SpanID)
	}
}

// TestJobSpanContinuesTheRequestTrace: the trace context injected at
// enqueue is continued by the job's span, in another context altogether.
func TestJobSpanContinuesTheRequestTrace(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	rc.Setenv(t)
	tel := start(t, telemetry.Options{})
	carrier := map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /exports", func(w http.ResponseWriter, r *http.Request) {
		tel.Jobs().Inject(r.Context(), carrier)
		w.WriteHeader(http.StatusAccepted)
	})
	stack(slog.New(slog.DiscardHandler), tel, mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/exports", nil))

	ctx, end := tel.Jobs().StartJob(logging.Scope(context.Background()), carrier, "things.export", "tenant-7", 1)
	attrs := map[string]string{}
	for _, a := range logging.Attrs(ctx) {
		attrs[a.Key] = a.Value.String()
	}
	end("failed", errors.New("boom"))
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	req := rc.WaitSpan(t, "POST /exports")
	job := rc.WaitSpan(t, "job things.export")
	if job.TraceID != req.TraceID || job.ParentSpanID != req.SpanID {
		t.Errorf("job span %s (parent %s) does not continue request span %s/%s", job.TraceID, job.ParentSpanID, req.TraceID, req.SpanID)
	}
	if job.Attributes["tenant.id"] != "tenant-7" || job.Attributes["job.outcome"] != "failed" || job.Attributes["job.attempt"] != "1" {
		t.Errorf("job span attributes = %v", job.Attributes)
	}
	if attrs["trace_id"] != job.TraceID || attrs["span_id"] != job.SpanID {
		t.Errorf("job log attributes %v lack the span's ids", attrs)
	}
}

// TestSentryReportsErrorsWithContext: a panic, a 500 and a failed job reach
// Sentry with their request, user and tenant; credentials do not.
func TestSentryReportsErrorsWithContext(t *testing.T) {
	sentry := telemetrytest.NewSentry(t)
	tel := start(t, telemetry.Options{LookupEnv: noEnv, SentryDSN: sentry.DSN, Environment: "test"})
	var logs bytes.Buffer
	logger := logging.New(&logs, slog.LevelInfo, tel.LogHandler())
	mux := http.NewServeMux()
	who := func(r *http.Request) {
		logging.Add(r.Context(), slog.String("tenant_id", "tenant-7"), slog.String("user_id", "user-3"))
	}
	mux.HandleFunc("GET /panics", func(w http.ResponseWriter, r *http.Request) {
		who(r)
		panic("handler bug")
	})
	mux.HandleFunc("GET /fails", func(w http.ResponseWriter, r *http.Request) {
		who(r)
		httpx.ServerError(w, r, logger, "load things", errors.New("relation things does not exist"))
	})
	mux.HandleFunc("GET /fine", func(w http.ResponseWriter, r *http.Request) {
		who(r)
		logger.ErrorContext(r.Context(), "an error without a cause is not reported")
		w.WriteHeader(http.StatusOK)
	})
	h := stack(logger, tel, mux)
	for _, path := range []string{"/panics?sig=query-secret", "/fails", "/fine"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer header-secret")
		req.AddCookie(&http.Cookie{Name: "session", Value: "cookie-secret"})
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	jobCtx := logging.Add(context.Background(), slog.String("tenant_id", "tenant-8"), slog.String("job_kind", "things.export"))
	logger.ErrorContext(jobCtx, "job failed", "error", errors.New("export broke"))
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	events := sentry.Events()
	if len(events) != 3 {
		t.Fatalf("want 3 events (panic, 500, failed job), got %d: %v", len(events), events)
	}
	raw, _ := json.Marshal(events)
	for _, secret := range []string{"query-secret", "header-secret", "cookie-secret"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("a credential (%s) reached Sentry: %s", secret, raw)
		}
	}
	for i, want := range []struct{ tenant, user, url, value string }{
		{"tenant-7", "user-3", "/panics", "handler bug"},
		{"tenant-7", "user-3", "/fails", "relation things does not exist"},
		{"tenant-8", "", "", "export broke"},
	} {
		e, _ := json.Marshal(events[i])
		var ev struct {
			Tags      map[string]string            `json:"tags"`
			User      struct{ ID string }          `json:"user"`
			Request   struct{ URL, Method string } `json:"request"`
			Exception []struct{ Value string }     `json:"exception"`
		}
		if err := json.Unmarshal(e, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Tags["tenant_id"] != want.tenant || ev.User.ID != want.user || !strings.HasSuffix(ev.Request.URL, want.url) ||
			len(ev.Exception) != 1 || ev.Exception[0].Value != want.value {
			t.Errorf("event %d = %s, want tenant %s user %q url …%s exception %q", i, e, want.tenant, want.user, want.url, want.value)
		}
	}
}

// BenchmarkHandlerStack measures the platform's middleware around a small
// handler: with no tracing middleware at all, with telemetry off (what a
// deployment without OTEL_* endpoint runs), with otelhttp over a no-op
// provider (what "off" would cost if it kept the middleware), and with
// tracing on, exporting to a receiver. off/none is the cost of tracing when
// it is off: run
//
//	go test -run '^$' -bench HandlerStack -benchmem -count 5 ./internal/platform/telemetry/
func BenchmarkHandlerStack(b *testing.B) {
	logger := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		logging.Add(r.Context(), slog.String("tenant_id", "tenant-7"))
		w.WriteHeader(http.StatusNoContent)
	})
	off, err := telemetry.Start(b.Context(), telemetry.Options{LookupEnv: noEnv})
	if err != nil {
		b.Fatal(err)
	}
	noopOtel := logging.Middleware(logger)(otelhttp.NewHandler(httpx.WithRequestID(httpx.Recover(logger)(logging.RecordRoute(mux))), "http.server",
		otelhttp.WithTracerProvider(noop.NewTracerProvider())))
	stacks := []struct {
		name string
		h    http.Handler
	}{
		{"none", stack(logger, nil, mux)},
		{"off", stack(logger, off, mux)},
		{"otelhttp-noop", noopOtel},
	}
	rc := telemetrytest.NewReceiver(b)
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	on, err := telemetry.Start(b.Context(), telemetry.Options{Service: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = on.Shutdown(context.Background()) })
	stacks = append(stacks, struct {
		name string
		h    http.Handler
	}{"on", stack(logger, on, mux)})
	for _, s := range stacks {
		b.Run(s.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/things/42", nil)
			b.ReportAllocs()
			for b.Loop() {
				s.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
