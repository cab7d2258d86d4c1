// Package telemetry sets up what the application reports beyond its logs
// and metrics: traces (OpenTelemetry, exported over OTLP/HTTP) and errors
// (Sentry).
//
// Traces are configured by the OpenTelemetry SDK's standard variables,
// read from the process environment: OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns them on; OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG,
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_BSP_* tune them. Without an endpoint
// (or with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none) no tracer
// provider exists and no tracing code runs: the middleware and the SQL and
// job hooks are simply not installed.
//
// Errors go to Sentry when SENTRY_DSN is set: every log record at level
// ERROR that carries an "error" or "panic" attribute (a panic recovered by
// httpx.Recover, a 500 answered by httpx.ServerError, a failed job) becomes
// a Sentry event with the request, user and tenant of its context.
//
// A nil *Telemetry is valid and reports nothing.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Options configure Start.
type Options struct {
	// Service is the service.name of the spans unless OTEL_SERVICE_NAME
	// says otherwise, and Sentry's server name.
	Service string
	// Environment is Sentry's environment (APP_ENV).
	Environment string
	// SentryDSN is SENTRY_DSN; empty reports no error.
	SentryDSN string
	// LookupEnv reads the OTEL_* variables that decide whether tracing is
	// on; nil means os.LookupEnv. The SDK itself reads the process
	// environment for the rest.
	LookupEnv func(string) (string, bool)
}

// Telemetry holds the tracer provider and the Sentry hub of the process.
type Telemetry struct {
	provider   *sdktrace.TracerProvider // nil when tracing is off
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	hub        *sentry.Hub // nil when Sentry is off
}

// Start sets up tracing and error reporting as opts and the environment
// say. Call Shutdown before the process exits.
func Start(ctx context.Context, opts Options) (*Telemetry, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	t := &Telemetry{}
	on, err := tracingOn(lookup)
	if err != nil {
		return nil, err
	}
	if on {
		if err := t.startTracing(ctx, opts.Service); err != nil {
			return nil, err
		}
	}
	if opts.SentryDSN != "" {
		client, err := sentry.NewClient(sentry.ClientOptions{
			Dsn:         opts.SentryDSN,
			Environment: opts.Environment,
			ServerName:  opts.Service,
			// Never collect cookies, headers, bodies, IP addresses or query
			// strings: the events carry only what the reporter puts in them.
			DataCollection: noDataCollection(),
		})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("telemetry: SENTRY_DSN: %w", err), t.Shutdown(ctx))
		}
		t.hub = sentry.NewHub(client, sentry.NewScope())
	}
	return t, nil
}

// noDataCollection turns off everything the Sentry SDK could collect on
// its own.
func noDataCollection() *sentry.DataCollection {
	off := func() *sentry.KeyValueCollectionBehavior {
		return &sentry.KeyValueCollectionBehavior{Mode: sentry.CollectionOff}
	}
	return &sentry.DataCollection{
		UserInfo:    sentry.Set(false),
		Cookies:     off(),
		HTTPHeaders: &sentry.HeaderCollectionConfig{Request: off(), Response: off()},
		HTTPBodies:  []sentry.BodyType{},
		QueryParams: off(),
	}
}

// tracingOn reports whether the OTEL_* variables ask for traces, and fails
// on an exporter protocol other than OTLP over HTTP with protobuf.
func tracingOn(lookup func(string) (string, bool)) (bool, error) {
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	switch exp := get("OTEL_TRACES_EXPORTER"); exp {
	case "", "otlp":
	case "none":
		return false, nil
	default:
		return false, fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER=%q is not supported: use otlp or none", exp)
	}
	if get("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return false, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := get(k); p != "" && p != "http/protobuf" {
			return false, fmt.Errorf("telemetry: %s=%q is not supported: this service exports traces over OTLP/HTTP, use http/protobuf", k, p)
		}
	}
	return true, nil
}

func (t *Telemetry) startTracing(ctx context.Context, service string) error {
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	// Later sources win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the default service name.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(),
	)
	if err != nil {
		return fmt.Errorf("telemetry: resource from OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based,
	// always on) and the batching from OTEL_BSP_*.
	t.provider = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	t.tracer = t.provider.Tracer("shop/internal/platform/telemetry")
	t.propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return nil
}

// Tracing reports whether traces are exported.
func (t *Telemetry) Tracing() bool { return t != nil && t.provider != nil }

// Reporting reports whether errors are sent to Sentry.
func (t *Telemetry) Reporting() bool { return t != nil && t.hub != nil }

// Shutdown exports the spans and events still buffered, within ctx's
// deadline (at most 5s without one).
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	var err error
	if t.provider != nil {
		if serr := t.provider.Shutdown(ctx); serr != nil {
			err = fmt.Errorf("telemetry: flush traces: %w", serr)
		}
	}
	if t.hub != nil {
		timeout := shutdownTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = time.Until(d)
		}
		if !t.hub.Flush(timeout) {
			err = errors.Join(err, errors.New("telemetry: Sentry events still unsent at shutdown"))
		}
	}
	return err
}

// shutdownTimeout bounds Shutdown.
const shutdownTimeout = 5 * time.Second

// LogHandler returns the slog handler that reports errors to Sentry, to be
// given to logging.New, or nil when Sentry is off.
func (t *Telemetry) LogHandler() slog.Handler {
	if !t.Reporting() {
		return nil
	}
	return &reporter{hub: t.hub}
}
