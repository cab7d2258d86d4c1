package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"shop/internal/platform/config"
)

// The River backend keeps jobs in PostgreSQL (riverqueue/river), in River's
// own tables, created by `migrate up` (MigrateBackend) and used by the
// application role.
//
//   - Enqueue inserts the River job in the caller's transaction (InsertTx):
//     the job exists if and only if the domain write committed.
//   - A job whose worker died stays "running" in River until it has run
//     longer than JOBS_RESCUE_AFTER (which must exceed JOBS_TIMEOUT); the
//     elected leader among the workers then rescues it for a retry.
//   - Workers hear of new jobs through LISTEN/NOTIFY, which needs a session
//     connection: behind PgBouncer in transaction mode set JOBS_POLL_ONLY=true
//     and they poll every JOBS_POLL_INTERVAL instead.
//   - On shutdown River stops fetching, waits JOBS_SHUTDOWN_TIMEOUT for
//     running jobs, then cancels them; River makes a cancelled job available
//     again at once, without counting the interrupted attempt.
//
// River's tables hold the job envelopes of every tenant and are not
// tenant-scoped: envelopes carry ids and arguments only, never tenant data,
// and the status tenants read is the jobs table.
type riverBackend struct {
	q      *Queue
	cfg    config.Jobs
	client *river.Client[pgx.Tx]
}

func newBackend(cfg *config.Config, q *Queue) (backend, error) {
	return &riverBackend{q: q, cfg: cfg.Jobs}, nil
}

// riverArgs is an envelope as River job arguments. River knows one kind,
// riverKind, for all of them, and Queue.execute dispatches on the job's own
// kind, which River's tools show as the job's tag.
type riverArgs struct {
	envelope
}

// riverKind is River's job kind for every job of this application.
const riverKind = "tenant_job"

// Kind implements river.JobArgs.
func (riverArgs) Kind() string { return riverKind }

// riverWorker runs every kind through Queue.execute.
type riverWorker struct {
	river.WorkerDefaults[riverArgs]
	q *Queue
}

// Work implements river.Worker.
func (w *riverWorker) Work(ctx context.Context, job *river.Job[riverArgs]) error {
	err := w.q.execute(ctx, job.Args.envelope, job.Attempt)
	if fe, ok := errors.AsType[finalError](err); ok {
		return river.JobCancel(fe.err)
	}
	return err
}

// NextRetry implements river.Worker with the queue's backoff.
func (w *riverWorker) NextRetry(job *river.Job[riverArgs]) time.Time {
	return time.Now().Add(w.q.retryDelay(job.Attempt))
}

// seal builds the client. River needs no list of kinds: its one worker
// dispatches on the job's kind.
func (b *riverBackend) seal([]string) error {
	if b.client != nil {
		return errors.New("jobs: Seal called twice")
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, river.Worker[riverArgs](&riverWorker{q: b.q})); err != nil {
		return fmt.Errorf("jobs: register with River: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(b.q.pool), &river.Config{
		Queues:               map[string]river.QueueConfig{b.cfg.Queue: {MaxWorkers: b.cfg.Concurrency}},
		Workers:              workers,
		JobTimeout:           b.cfg.Timeout,
		RescueStuckJobsAfter: b.cfg.RescueAfter,
		PollOnly:             b.cfg.PollOnly,
		FetchPollInterval:    b.cfg.PollInterval,
		Logger:               b.q.logger.With("component", "river"),
	})
	if err != nil {
		return fmt.Errorf("jobs: River client: %w", err)
	}
	b.client = client
	return nil
}

func (b *riverBackend) sealed() bool { return b.client != nil }

func (b *riverBackend) enqueue(ctx context.Context, tx pgx.Tx, env envelope) error {
	if b.client == nil {
		return errors.New("jobs: Enqueue before Seal")
	}
	// One attempt more than MaxAttempts: see Queue.execute.
	_, err := b.client.InsertTx(ctx, tx, riverArgs{env}, &river.InsertOpts{
		Queue:       b.cfg.Queue,
		MaxAttempts: env.MaxAttempts + 1,
		Tags:        []string{strings.ReplaceAll(env.Kind, ".", "-")},
	})
	return err
}

func (b *riverBackend) work(ctx context.Context) error {
	if b.client == nil {
		return errors.New("jobs: Run before Seal")
	}
	// River cancels running jobs when the context given to Start is
	// cancelled; shutdown is driven below instead.
	if err := b.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start River: %w", err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.ShutdownTimeout)
	defer cancel()
	if err := b.client.Stop(stopCtx); err == nil {
		return nil
	}
	b.q.logger.WarnContext(stopCtx, "jobs still running after JOBS_SHUTDOWN_TIMEOUT; cancelling them, they will be retried", "timeout", b.cfg.ShutdownTimeout)
	hardCtx, cancelHard := context.WithTimeout(context.WithoutCancel(ctx), statusTimeout)
	defer cancelHard()
	if err := b.client.StopAndCancel(hardCtx); err != nil {
		return fmt.Errorf("jobs: stop River: %w", err)
	}
	return nil
}

// ready checks that River's table answers the application role (it exists
// after migrate up and the role may read it).
func (b *riverBackend) ready(ctx context.Context) error {
	rows, err := b.q.pool.Query(ctx, `SELECT 1 FROM river_job LIMIT 0`)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

func (b *riverBackend) depth(ctx context.Context) (int64, error) {
	var n int64
	err := b.q.pool.QueryRow(ctx, `
		SELECT count(*) FROM river_job
		WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable')`, b.cfg.Queue).Scan(&n)
	return n, err
}

func (b *riverBackend) close() error { return nil }

// MigrateBackend brings River's tables to the version this build needs,
// connected as the schema owner (ownerURL, MIGRATE_DATABASE_URL), and
// returns a line per applied version. `migrate up` calls it. Each River
// version is applied in a transaction of its own, as River requires.
func MigrateBackend(ctx context.Context, ownerURL string) ([]string, error) {
	pool, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		return nil, fmt.Errorf("jobs: connect to migrate River: %w", err)
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, fmt.Errorf("jobs: River migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("jobs: migrate River: %w", err)
	}
	var applied []string
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river version %d %s (%s)", v.Version, v.Name, v.Duration))
	}
	return applied, nil
}
