package jobs

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// backend is the queue that carries envelopes from Enqueue to execute. The
// project's choice (River or Asynq) implements it in queue.go; everything
// else in this package is the same for both.
type backend interface {
	// seal prepares the backend for the registered kinds.
	seal(kinds []string) error
	// sealed reports whether seal was called.
	sealed() bool
	// enqueue hands env to the queue during tx, before it commits.
	enqueue(ctx context.Context, tx pgx.Tx, env envelope) error
	// work runs q.execute for each job until ctx is cancelled, then shuts
	// down gracefully within JOBS_SHUTDOWN_TIMEOUT.
	work(ctx context.Context) error
	// ready reports whether the queue's storage answers.
	ready(ctx context.Context) error
	// depth counts the jobs waiting to run in the queue.
	depth(ctx context.Context) (int64, error)
	// close releases the backend's own connections.
	close() error
}
