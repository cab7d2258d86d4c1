// Package jobs runs work outside the request that asked for it, as the
// tenant that asked for it.
//
// A module registers a Handler per kind of job (Queue.Handle, from its
// Register function) and enqueues jobs with Queue.Enqueue inside the
// tenant transaction of its domain write (tenancy.InTx), so that a job
// exists exactly when the write committed. The handler later runs in a
// worker (the worker command, or serve with JOBS_IN_PROCESS=true) with the
// job's tenant and principal in its context; every statement it makes goes
// through the tenancy helpers, so row-level security applies to workers
// exactly as to requests.
//
// The tenant-owned jobs table records each job's state (queued, running,
// completed, failed), attempts, result and error; GET /api/v1/jobs/{id}
// reads it under row-level security, so another tenant's job is 404. The
// queue itself is a backend chosen when the project was generated (see
// queue.go): its bookkeeping is the backend's, the status is this table's.
//
// Failed attempts are retried with exponential backoff (JOBS_RETRY_BACKOFF
// doubling per attempt) up to JOBS_MAX_ATTEMPTS; then the job is failed, with
// its error. A job whose worker died is handed to another worker by the
// backend (see queue.go) and counts as an attempt; one interrupted by a
// worker's shutdown is handed back and does not. Handlers must therefore be
// idempotent: an attempt can be repeated after it did part of its work.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"regexp"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/platform/auth"
	"shop/internal/platform/config"
	"shop/internal/platform/logging"
	"shop/internal/platform/tenancy"
)

// Job is one job as its handler sees it.
type Job struct {
	ID       uuid.UUID
	Kind     string
	TenantID uuid.UUID
	// Principal enqueued the job; its zero value when the platform did.
	Principal auth.Principal
	// Args is the JSON the job was enqueued with.
	Args json.RawMessage
	// Attempt counts from 1; MaxAttempts is the last one.
	Attempt     int
	MaxAttempts int
}

// Handler does the work of one kind of job. ctx carries the job's tenant
// (tenancy.FromContext), its principal (auth.FromContext) and the log
// attributes job_id, job_kind, tenant_id and attempt; it is cancelled when
// the attempt times out (JOBS_TIMEOUT) or the worker shuts down.
//
// The result, encoded as JSON, becomes the job's status result; keep it
// small (ids and links, not data). An error is retried with backoff while
// attempts remain; wrap it with Permanent to fail the job at once.
type Handler func(ctx context.Context, job Job) (result any, err error)

// Permanent marks err as not worth retrying: the job fails at once.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// ErrUnknownKind is returned by Enqueue for a kind no handler was
// registered for.
var ErrUnknownKind = errors.New("jobs: unknown kind")

// kindRE is what a kind looks like: "<module>.<action>", lower case.
var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// envelope is what travels through the queue: everything a worker needs to
// run the job as its tenant and principal. It carries ids and arguments,
// never tenant data: the backend's storage is not tenant-scoped.
type envelope struct {
	ID          uuid.UUID       `json:"id"`
	Kind        string          `json:"kind"`
	TenantID    uuid.UUID       `json:"tenant_id"`
	UserID      uuid.UUID       `json:"user_id,omitzero"`
	APIKeyID    uuid.UUID       `json:"api_key_id,omitzero"`
	Role        auth.Role       `json:"role,omitempty"`
	Args        json.RawMessage `json:"args"`
	MaxAttempts int             `json:"max_attempts"`
	EnqueuedAt  time.Time       `json:"enqueued_at"`
	// Trace carries the enqueuing request's trace context (see Tracing).
	Trace map[string]string `json:"trace,omitempty"`
}

// Tracing carries trace context from the request that enqueues a job to
// the worker that runs it, and traces each attempt (the telemetry package's
// JobTracing). Set Queue.Tracing before the queue is used; nil traces
// nothing.
type Tracing interface {
	// Inject writes ctx's trace context into carrier.
	Inject(ctx context.Context, carrier map[string]string)
	// StartJob continues the trace in carrier with the span of one attempt;
	// end finishes it with the attempt's outcome and error.
	StartJob(ctx context.Context, carrier map[string]string, kind, tenantID string, attempt int) (_ context.Context, end func(outcome string, err error))
}

// Queue enqueues jobs and runs their handlers.
type Queue struct {
	cfg     config.Jobs
	pool    *pgxpool.Pool
	logger  *slog.Logger
	metrics *metrics

	// Tracing, when set, carries trace context into jobs and traces them.
	Tracing Tracing

	mu       sync.Mutex
	handlers map[string]Handler
	backend  backend // built by Seal, once every kind is registered
}

// New returns a Queue whose jobs table lives in pool's database (pool
// connects as the application role) and whose metrics are registered on
// reg. Register every kind with Handle, then call Seal.
func New(cfg *config.Config, pool *pgxpool.Pool, logger *slog.Logger, reg prometheus.Registerer) (*Queue, error) {
	q := &Queue{cfg: cfg.Jobs, pool: pool, logger: logger, handlers: map[string]Handler{}}
	m, err := newMetrics(reg, q)
	if err != nil {
		return nil, err
	}
	q.metrics = m
	q.backend, err = newBackend(cfg, q)
	if err != nil {
		return nil, err
	}
	return q, nil
}

// Handle registers h for kind ("<module>.<action>", e.g. "projects.export").
// Every kind must be registered before Seal, in every process (serve and
// worker alike), so both enqueue and work know it.
func (q *Queue) Handle(kind string, h Handler) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case !kindRE.MatchString(kind) || len(kind) > 100:
		return fmt.Errorf("jobs: kind %q must look like module.action (lower case)", kind)
	case h == nil:
		return fmt.Errorf("jobs: kind %s: nil handler", kind)
	case q.handlers[kind] != nil:
		return fmt.Errorf("jobs: kind %s is registered twice", kind)
	case q.backend.sealed():
		return fmt.Errorf("jobs: kind %s registered after Seal", kind)
	}
	q.handlers[kind] = h
	return nil
}

// Seal ends registration and prepares the backend for the registered
// kinds. Enqueue and Run need it.
func (q *Queue) Seal() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.backend.seal(slices.Sorted(maps.Keys(q.handlers)))
}

// Enqueue creates a job of kind for tenantID with args (anything that
// encodes as JSON) and returns its id. tx must be the transaction of
// tenancy.InTx for tenantID that makes the domain write the job belongs to:
// the job's status row is written in it and the job is handed to the queue
// before it commits, so a rolled-back write leaves no job that runs (see
// queue.go for how each backend keeps that promise). The principal in ctx,
// if any, is recorded as the job's author and travels with it.
func (q *Queue) Enqueue(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, kind string, args any) (uuid.UUID, error) {
	q.mu.Lock()
	_, known := q.handlers[kind]
	q.mu.Unlock()
	if !known {
		return uuid.Nil, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return uuid.Nil, fmt.Errorf("jobs: encode %s arguments: %w", kind, err)
	}
	env := envelope{
		ID:          uuid.New(),
		Kind:        kind,
		TenantID:    tenantID,
		Args:        raw,
		MaxAttempts: q.cfg.MaxAttempts,
		EnqueuedAt:  time.Now().UTC(),
	}
	if p, ok := auth.FromContext(ctx); ok && p.TenantID == tenantID {
		env.UserID, env.APIKeyID, env.Role = p.UserID, p.APIKeyID, p.Role
	}
	if q.Tracing != nil {
		env.Trace = map[string]string{}
		q.Tracing.Inject(ctx, env.Trace)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO jobs (id, tenant_id, kind, max_attempts, user_id, api_key_id)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		env.ID, env.TenantID, env.Kind, env.MaxAttempts, nullUUID(env.UserID), nullUUID(env.APIKeyID))
	if err != nil {
		return uuid.Nil, fmt.Errorf("jobs: record %s job: %w", kind, err)
	}
	if err := q.backend.enqueue(ctx, tx, env); err != nil {
		return uuid.Nil, fmt.Errorf("jobs: enqueue %s job: %w", kind, err)
	}
	return env.ID, nil
}

// Run works jobs until ctx is cancelled, then stops taking new ones and
// gives running jobs JOBS_SHUTDOWN_TIMEOUT to finish; jobs still running
// after that are cancelled and handed back to the queue, to be retried.
func (q *Queue) Run(ctx context.Context) error {
	q.logger.InfoContext(ctx, "job workers starting", "queue", q.cfg.Queue, "concurrency", q.cfg.Concurrency, "kinds", q.kinds())
	err := q.backend.work(ctx)
	q.logger.InfoContext(context.WithoutCancel(ctx), "job workers stopped")
	return err
}

// ReadyTimeout bounds one readiness check of the queue.
const ReadyTimeout = 2 * time.Second

// Ready reports whether the queue's backend answers (for /readyz).
func (q *Queue) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if err := q.backend.ready(ctx); err != nil {
		return fmt.Errorf("jobs: %s queue: %w", q.cfg.Queue, err)
	}
	return nil
}

// Close releases the backend's connections.
func (q *Queue) Close() error { return q.backend.close() }

func (q *Queue) kinds() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Sorted(maps.Keys(q.handlers))
}

// retryDelay is the wait before attempt+1: JOBS_RETRY_BACKOFF doubled per
// attempt, at most an hour, with 10% jitter so failures do not retry in
// lockstep.
func (q *Queue) retryDelay(attempt int) time.Duration {
	d := q.cfg.RetryBackoff << min(max(attempt-1, 0), 20)
	if d <= 0 || d > time.Hour {
		d = time.Hour
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1)) //nolint:gosec // G404: jitter spreads retries out; it needs no unpredictability
}

// finalError tells the backend not to retry: the job's status is final.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }

// Outcomes of an attempt, as the jobs_finished_total metric labels them.
const (
	outcomeCompleted = "completed"
	outcomeFailed    = "failed"
	outcomeRetried   = "retried"
	outcomeCancelled = "cancelled"
)

// statusTimeout bounds the status writes made after an attempt, which run
// even when the attempt's context was cancelled.
const statusTimeout = 10 * time.Second

// execute runs attempt number attempt of the job in env and records its
// outcome in the jobs table. The backends call it and map its error: nil
// means done (completed, or nothing to do), a finalError means do not
// retry, any other error means retry with backoff.
func (q *Queue) execute(ctx context.Context, env envelope, attempt int) (err error) {
	ctx = logging.Add(logging.Scope(ctx),
		slog.String("job_id", env.ID.String()), slog.String("job_kind", env.Kind),
		slog.String("tenant_id", env.TenantID.String()), slog.Int("attempt", attempt))
	var outcome string
	if q.Tracing != nil {
		var end func(string, error)
		ctx, end = q.Tracing.StartJob(ctx, env.Trace, env.Kind, env.TenantID.String(), attempt)
		defer func() { end(outcome, err) }()
	}
	start := time.Now()

	claimed, cerr := q.claim(ctx, env, attempt)
	if cerr != nil {
		q.logger.ErrorContext(ctx, "job not started", "error", cerr)
		return cerr
	}
	if !claimed {
		// Nothing to do: the enqueuing transaction rolled back, or a
		// duplicate delivery of a job that already finished.
		outcome = "discarded"
		q.logger.InfoContext(ctx, "job discarded: its status row is missing or final", "outcome", "discarded")
		return nil
	}
	if attempt == 1 {
		q.metrics.wait.WithLabelValues(env.Kind).Observe(start.Sub(env.EnqueuedAt).Seconds())
	}

	q.mu.Lock()
	h := q.handlers[env.Kind]
	q.mu.Unlock()
	var result any
	switch {
	case h == nil:
		err = Permanent(fmt.Errorf("no handler is registered for kind %s in this worker", env.Kind))
	case attempt > env.MaxAttempts:
		// The backend grants one attempt more than MaxAttempts, so that a
		// job whose worker died during its last attempt is marked failed
		// here instead of vanishing with the status still "running".
		err = Permanent(errors.New("the worker stopped during the last attempt"))
	default:
		job := Job{
			ID: env.ID, Kind: env.Kind, TenantID: env.TenantID, Args: env.Args,
			Principal: auth.Principal{UserID: env.UserID, APIKeyID: env.APIKeyID, TenantID: env.TenantID, Role: env.Role},
			Attempt:   attempt, MaxAttempts: env.MaxAttempts,
		}
		jctx := tenancy.WithTenant(ctx, tenancy.Tenant{ID: env.TenantID})
		if job.Principal.Role != "" {
			jctx = auth.WithPrincipal(jctx, job.Principal)
		}
		result, err = q.call(jctx, h, job)
	}
	elapsed := time.Since(start)
	q.metrics.duration.WithLabelValues(env.Kind).Observe(elapsed.Seconds())

	// The status writes below must happen even when ctx was cancelled.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusTimeout)
	defer cancel()
	switch {
	case err == nil:
		outcome = outcomeCompleted
		var raw []byte
		if raw, err = json.Marshal(result); err != nil {
			err = Permanent(fmt.Errorf("encode result: %w", err))
			break
		}
		if serr := q.finish(sctx, env, stateCompleted, raw, ""); serr != nil {
			q.logger.ErrorContext(ctx, "job completed but its status was not saved; it will run again", "error", serr)
			return serr
		}
	case errors.Is(ctx.Err(), context.Canceled):
		// The worker is shutting down: hand the job back.
		outcome = outcomeCancelled
		if serr := q.requeue(sctx, env, "interrupted: the worker stopped; the job will be retried"); serr != nil {
			q.logger.ErrorContext(ctx, "record interrupted job", "error", serr)
		}
	}
	if err != nil && outcome != outcomeCancelled {
		var perm permanentError
		if errors.As(err, &perm) || attempt >= env.MaxAttempts {
			outcome = outcomeFailed
			if serr := q.finish(sctx, env, stateFailed, nil, err.Error()); serr != nil {
				q.logger.ErrorContext(ctx, "job failed but its status was not saved; it will run again", "error", serr)
				return serr
			}
		} else {
			outcome = outcomeRetried
			if serr := q.requeue(sctx, env, err.Error()); serr != nil {
				q.logger.ErrorContext(ctx, "record job error", "error", serr)
			}
		}
	}
	q.metrics.finished.WithLabelValues(env.Kind, outcome).Inc()

	attrs := []any{"outcome", outcome, "duration_ms", elapsed.Milliseconds()}
	switch outcome {
	case outcomeCompleted:
		q.logger.InfoContext(ctx, "job completed", attrs...)
		return nil
	case outcomeFailed:
		q.logger.ErrorContext(ctx, "job failed", append(attrs, "error", err)...)
		return finalError{err}
	case outcomeCancelled:
		q.logger.WarnContext(ctx, "job interrupted by shutdown; it will be retried", append(attrs, "error", err)...)
		// Both backends recognise context.Canceled as an interruption,
		// which does not count as an attempt.
		return fmt.Errorf("interrupted by shutdown: %w", ctx.Err())
	default:
		q.logger.WarnContext(ctx, "job attempt failed; it will be retried", append(attrs, "error", err)...)
		return err
	}
}

// call runs h, turning a panic into a permanent error with its stack in the
// log, so one bad job cannot take the worker down.
func (q *Queue) call(ctx context.Context, h Handler, job Job) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			q.logger.ErrorContext(ctx, "job handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			result, err = nil, Permanent(fmt.Errorf("the job's handler panicked: %v", p))
		}
	}()
	return h(ctx, job)
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
