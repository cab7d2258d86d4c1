package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/acme/acme/internal/platform/config"
)

// The Asynq backend keeps jobs in Redis (hibiken/asynq, REDIS_URL).
//
//   - Enqueue writes the status row in the caller's transaction and pushes
//     the task to Redis before that transaction commits, with the job id as
//     Asynq's task id. A failed push fails the transaction: no write without
//     its job. A push whose transaction then rolls back leaves a task with no
//     status row; the worker's claim waits for the enqueuing transaction's
//     outcome (see Queue.claim) and discards it, so no job runs for a
//     rolled-back write. What Asynq cannot promise is Redis's own
//     durability: a task is as safe as Redis's persistence (AOF) makes it.
//   - A job whose worker died keeps its lease (30 s, renewed while the worker
//     lives); Asynq's recoverer, in any worker, hands it back for a retry
//     once the lease is 30 s past due. Both intervals are Asynq's constants.
//   - On shutdown the server stops fetching, waits JOBS_SHUTDOWN_TIMEOUT for
//     running jobs, then cancels them; a cancelled job is retried after the
//     backoff, without counting the interrupted attempt (IsFailure).
type asynqBackend struct {
	q         *Queue
	cfg       config.Jobs
	redis     asynq.RedisConnOpt
	client    *asynq.Client
	inspector *asynq.Inspector
	kinds     []string
}

func newBackend(cfg *config.Config, q *Queue) (backend, error) {
	opt, err := asynq.ParseRedisURI(cfg.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("jobs: REDIS_URL: %w", err)
	}
	return &asynqBackend{q: q, cfg: cfg.Jobs, redis: opt}, nil
}

func (b *asynqBackend) seal(kinds []string) error {
	if b.client != nil {
		return errors.New("jobs: Seal called twice")
	}
	b.kinds = kinds
	b.client = asynq.NewClient(b.redis)
	b.inspector = asynq.NewInspector(b.redis)
	return nil
}

func (b *asynqBackend) sealed() bool { return b.client != nil }

func (b *asynqBackend) enqueue(ctx context.Context, _ pgx.Tx, env envelope) error {
	if b.client == nil {
		return errors.New("jobs: Enqueue before Seal")
	}
	payload, err := json.Marshal(env)
	if err != nil {
		return err
	}
	// MaxRetry grants one delivery more than MaxAttempts: see Queue.execute.
	_, err = b.client.EnqueueContext(ctx, asynq.NewTask(env.Kind, payload),
		asynq.TaskID(env.ID.String()),
		asynq.Queue(b.cfg.Queue),
		asynq.MaxRetry(env.MaxAttempts),
		asynq.Timeout(b.cfg.Timeout),
	)
	return err
}

// shutdownGrace is how long after cancelling the running jobs Asynq waits
// for them to record their status before it pushes them back itself.
const shutdownGrace = 5 * time.Second

func (b *asynqBackend) work(ctx context.Context) error {
	if b.client == nil {
		return errors.New("jobs: Run before Seal")
	}
	// Running jobs see jobCtx: it outlives ctx by JOBS_SHUTDOWN_TIMEOUT.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	srv := asynq.NewServer(b.redis, asynq.Config{
		Concurrency:     b.cfg.Concurrency,
		Queues:          map[string]int{b.cfg.Queue: 1},
		BaseContext:     func() context.Context { return jobCtx },
		ShutdownTimeout: b.cfg.ShutdownTimeout + shutdownGrace,
		RetryDelayFunc: func(retried int, _ error, _ *asynq.Task) time.Duration {
			return b.q.retryDelay(retried + 1)
		},
		// An attempt cancelled by shutdown is not a failure: Asynq retries
		// it without counting it.
		IsFailure: func(err error) bool { return !errors.Is(err, context.Canceled) },
		Logger:    asynqLogger{b.q.logger.With("component", "asynq")},
		LogLevel:  asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	for _, kind := range b.kinds {
		mux.HandleFunc(kind, b.handle)
	}
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("jobs: start Asynq: %w", err)
	}
	<-ctx.Done()
	timer := time.AfterFunc(b.cfg.ShutdownTimeout, func() {
		b.q.logger.Warn("jobs still running after JOBS_SHUTDOWN_TIMEOUT; cancelling them, they will be retried", "timeout", b.cfg.ShutdownTimeout)
		cancelJobs()
	})
	defer timer.Stop()
	srv.Shutdown()
	return nil
}

func (b *asynqBackend) handle(ctx context.Context, t *asynq.Task) error {
	var env envelope
	if err := json.Unmarshal(t.Payload(), &env); err != nil {
		return fmt.Errorf("%w: decode job: %w", asynq.SkipRetry, err)
	}
	retried, _ := asynq.GetRetryCount(ctx)
	err := b.q.execute(ctx, env, retried+1)
	if fe, ok := errors.AsType[finalError](err); ok {
		return fmt.Errorf("%w: %w", asynq.SkipRetry, fe.err)
	}
	return err
}

// ready pings Asynq's Redis; the client has no context, REDIS_DIAL_TIMEOUT
// and REDIS_READ_TIMEOUT bound it.
func (b *asynqBackend) ready(context.Context) error {
	if b.client == nil {
		return errors.New("jobs: queue not sealed")
	}
	return b.client.Ping()
}

func (b *asynqBackend) depth(context.Context) (int64, error) {
	if b.inspector == nil {
		return 0, errors.New("jobs: queue not sealed")
	}
	info, err := b.inspector.GetQueueInfo(b.cfg.Queue)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return int64(info.Pending + info.Scheduled + info.Retry), nil
}

func (b *asynqBackend) close() error {
	var errs []error
	if b.client != nil {
		errs = append(errs, b.client.Close())
	}
	if b.inspector != nil {
		errs = append(errs, b.inspector.Close())
	}
	return errors.Join(errs...)
}

// MigrateBackend has nothing to do for Asynq, which keeps its state in
// Redis; it exists so `migrate up` is the same for every backend.
func MigrateBackend(context.Context, string) ([]string, error) { return nil, nil }

// asynqLogger sends Asynq's log lines to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
