package telemetry

import (
	"context"
	"log/slog"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"example.com/minimal/internal/platform/logging"
)

// SQLTracer returns the pgx tracer that makes a span of each statement
// made within a traced request or job (statements without such a parent,
// like the queue's polling, make none), or nil when tracing is off.
// Statements are recorded with their placeholders, never their arguments.
func (t *Telemetry) SQLTracer() pgx.QueryTracer {
	if !t.Tracing() {
		return nil
	}
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(t.provider))
}

// JobTracing carries a request's trace into the jobs it enqueues and makes
// a span of each attempt (it implements jobs.Tracing).
type JobTracing struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// Jobs returns the job tracing, or nil when tracing is off.
func (t *Telemetry) Jobs() *JobTracing {
	if !t.Tracing() {
		return nil
	}
	return &JobTracing{tracer: t.tracer, propagator: t.propagator}
}

// Inject writes ctx's trace context into carrier, which travels with the job.
func (j *JobTracing) Inject(ctx context.Context, carrier map[string]string) {
	j.propagator.Inject(ctx, propagation.MapCarrier(carrier))
}

// StartJob continues the trace of carrier (the enqueuing request's) with
// the span of one attempt of a job of kind for tenantID, and adds its
// trace_id and span_id to the job's log attributes. end finishes the span
// with the attempt's outcome and error.
func (j *JobTracing) StartJob(ctx context.Context, carrier map[string]string, kind, tenantID string, attempt int) (_ context.Context, end func(outcome string, err error)) {
	ctx = j.propagator.Extract(ctx, propagation.MapCarrier(carrier))
	ctx, span := j.tracer.Start(ctx, "job "+kind,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("job.kind", kind),
			attribute.String("tenant.id", tenantID),
			attribute.Int("job.attempt", attempt),
		))
	sc := span.SpanContext()
	ctx = logging.Add(ctx, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	return ctx, func(outcome string, err error) {
		span.SetAttributes(attribute.String("job.outcome", outcome))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, outcome)
		}
		span.End()
	}
}
