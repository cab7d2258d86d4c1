package jobstest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"example.com/minimal/internal/platform/config"
	"example.com/minimal/internal/platform/database/dbtest"
	"example.com/minimal/internal/platform/jobs"
)

// backendSettings makes River's rescue of a dead worker's job and its
// polling quick enough for tests.
func backendSettings(testing.TB, *dbtest.DB) []string {
	return []string{"JOBS_TIMEOUT=10s", "JOBS_RESCUE_AFTER=11s", "JOBS_POLL_INTERVAL=100ms"}
}

// prepareBackend creates River's tables in db, as `migrate up` does.
func prepareBackend(t testing.TB, db *dbtest.DB, _ *config.Config) {
	t.Helper()
	MigrateBackend(t, db)
}

// MigrateBackend creates River's tables in db as its owner, as `migrate
// up` does.
func MigrateBackend(t testing.TB, db *dbtest.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := jobs.MigrateBackend(ctx, db.OwnerURL); err != nil {
		t.Fatal(err)
	}
}

// Idle waits until the queue has no job waiting or running.
func (e *Env) Idle(t testing.TB, db *dbtest.DB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var n int
		err := db.OwnerPool.QueryRow(context.Background(), `
			SELECT count(*) FROM river_job
			WHERE queue = $1 AND state IN ('available', 'running', 'scheduled', 'retryable', 'pending')`,
			e.Config.Jobs.Queue).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs: %d River jobs still waiting or running after %s", n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RecoveryDelay is how long after a worker's death its job becomes
// available to another worker without waiting: none for River, whose
// elected leader rescues it once it has run longer than JOBS_RESCUE_AFTER.
func (e *Env) RecoveryDelay() time.Duration { return 0 }

// AwaitDelivery returns at once: River cannot hand a job to a worker before
// the transaction that inserted it commits.
func (e *Env) AwaitDelivery(testing.TB, uuid.UUID) {}
