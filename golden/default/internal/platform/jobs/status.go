package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"shop/internal/platform/auth"
	"shop/internal/platform/httpx"
	"shop/internal/platform/tenancy"
)

// State is where a job is in its life.
type State string

// Job states. A job waiting for a retry is queued again, with the last
// error in Status.Error.
const (
	stateQueued    State = "queued"
	stateRunning   State = "running"
	stateCompleted State = "completed"
	stateFailed    State = "failed"
)

// Status is a job as GET /api/v1/jobs/{id} reports it.
type Status struct {
	ID          uuid.UUID       `json:"id"`
	Kind        string          `json:"kind"`
	State       State           `json:"state"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	Result      json.RawMessage `json:"result,omitempty"`
	Error       string          `json:"error,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
}

// ErrNotFound is returned for a job that does not exist in the tenant.
var ErrNotFound = errors.New("job not found")

// pathPrefix is where job statuses are served: module.APIPrefix + "jobs/"
// (package module imports this one, so it cannot be used here).
const pathPrefix = "/api/v1/jobs/"

// StatusPath is the path of a job's status.
func StatusPath(id uuid.UUID) string { return pathPrefix + id.String() }

// Get returns the status of job id as tenantID sees it: ErrNotFound for
// another tenant's job.
func (q *Queue) Get(ctx context.Context, tenantID, id uuid.UUID) (Status, error) {
	var st Status
	err := tenancy.Query(ctx, q.pool, tenantID, func(rows pgx.Rows) error {
		var err error
		st, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Status])
		return err
	}, `SELECT id, kind, state, attempts, max_attempts, result, coalesce(error, ''), created_at, started_at, finished_at
		FROM jobs WHERE id = $1`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Status{}, ErrNotFound
	}
	if err != nil {
		return Status{}, fmt.Errorf("jobs: read status: %w", err)
	}
	return st, nil
}

// Register adds GET /api/v1/jobs/{id} to mux, which the composition root
// serves behind the tenant middleware. Members may read their tenant's jobs.
func (q *Queue) Register(mux *http.ServeMux) {
	mux.Handle("GET "+pathPrefix+"{id}", auth.Require("member")(http.HandlerFunc(q.serveStatus)))
}

func (q *Queue) serveStatus(w http.ResponseWriter, r *http.Request) {
	t, ok := tenancy.Require(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, r, http.StatusNotFound, "not_found", ErrNotFound.Error())
		return
	}
	st, err := q.Get(r.Context(), t.ID, id)
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.Error(w, r, http.StatusNotFound, "not_found", err.Error())
	case err != nil:
		q.logger.ErrorContext(r.Context(), "read job status", "error", err)
		httpx.Error(w, r, http.StatusInternalServerError, "internal", "internal server error")
	default:
		if st.State == stateQueued || st.State == stateRunning {
			w.Header().Set("Retry-After", "1")
		}
		httpx.JSON(w, http.StatusOK, st)
	}
}

// Accepted answers a request whose work was handed to job id: 202 Accepted
// with Location pointing at the job's status and the status as the body.
func Accepted(w http.ResponseWriter, id uuid.UUID, kind string) {
	w.Header().Set("Location", StatusPath(id))
	httpx.JSON(w, http.StatusAccepted, Status{ID: id, Kind: kind, State: stateQueued, CreatedAt: time.Now().UTC()})
}

// errRolledBack ends the claim transaction when the probe shows the job's
// enqueuing transaction never committed.
var errRolledBack = errors.New("jobs: the enqueuing transaction rolled back")

// claim marks the job running for this attempt. It reports false, and the
// job must not run, when the job's status row does not exist (its enqueuing
// transaction rolled back) or is already final (a duplicate delivery).
//
// A job may reach a worker before its enqueuing transaction has finished
// (Asynq enqueues before COMMIT). The probe INSERT of the same primary key
// settles that: PostgreSQL makes it wait for the other transaction, then
// either conflicts (the row committed) or succeeds (it never will): that
// probe row is rolled back with this transaction. No timer, no guess.
func (q *Queue) claim(ctx context.Context, env envelope, attempt int) (bool, error) {
	err := tenancy.InTx(ctx, q.pool, env.TenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO jobs (id, tenant_id, kind, max_attempts, state, finished_at)
			VALUES ($1, $2, $3, 1, 'failed', now())
			ON CONFLICT (id) DO NOTHING`, env.ID, env.TenantID, env.Kind)
		if err != nil {
			return fmt.Errorf("jobs: probe status row: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return errRolledBack
		}
		tag, err = tx.Exec(ctx, `
			UPDATE jobs SET state = 'running', attempts = $2, started_at = coalesce(started_at, now()), updated_at = now()
			WHERE id = $1 AND state IN ('queued', 'running')`, env.ID, attempt)
		if err != nil {
			return fmt.Errorf("jobs: mark running: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errFinal
		}
		return nil
	})
	switch {
	case errors.Is(err, errRolledBack), errors.Is(err, errFinal):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// errFinal ends the claim transaction of a job that already finished.
var errFinal = errors.New("jobs: the job already finished")

// finish records a final state with its result or error.
func (q *Queue) finish(ctx context.Context, env envelope, state State, result []byte, errMsg string) error {
	_, err := tenancy.Exec(ctx, q.pool, env.TenantID, `
		UPDATE jobs SET state = $2, result = $3, error = nullif($4, ''), finished_at = now(), updated_at = now()
		WHERE id = $1`, env.ID, state, result, truncate(errMsg))
	if err != nil {
		return fmt.Errorf("jobs: record %s: %w", state, err)
	}
	return nil
}

// requeue records that the job waits for another attempt, and why.
func (q *Queue) requeue(ctx context.Context, env envelope, errMsg string) error {
	_, err := tenancy.Exec(ctx, q.pool, env.TenantID, `
		UPDATE jobs SET state = 'queued', error = $2, updated_at = now()
		WHERE id = $1 AND state = 'running'`, env.ID, truncate(errMsg))
	if err != nil {
		return fmt.Errorf("jobs: record retry: %w", err)
	}
	return nil
}

// maxErrorLen bounds the error text kept in a job's status.
const maxErrorLen = 2000

func truncate(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxErrorLen], "") + "…"
}
