package jobstest

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/database/dbtest"
)

// RedisURL returns TEST_REDIS_URL, skipping (or failing, under
// TEST_REQUIRE_SERVICES=1) the test when it is unset.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u != "" {
		return u
	}
	const msg = "TEST_REDIS_URL not set: run `TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test ./...`"
	if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + " (TEST_REQUIRE_SERVICES=1 turns this skip into a failure)")
	}
	t.Skip(msg)
	return ""
}

// backendSettings points Asynq at the test Redis. Each test has a queue of
// its own (JOBS_QUEUE), which is all of Asynq's key space it touches.
func backendSettings(t testing.TB, _ *dbtest.DB) []string {
	return []string{"REDIS_URL=" + RedisURL(t), "JOBS_TIMEOUT=10s"}
}

// MigrateBackend does what `migrate up` does for the queue in db: nothing
// for Asynq, which keeps its state in Redis.
func MigrateBackend(testing.TB, *dbtest.DB) {}

// prepareBackend deletes the test's queue from Redis when the test ends.
func prepareBackend(t testing.TB, _ *dbtest.DB, cfg *config.Config) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(cfg.Redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in := asynq.NewInspector(opt)
		defer func() { _ = in.Close() }()
		if err := in.DeleteQueue(cfg.Jobs.Queue, true); err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Errorf("jobstest: delete queue %s: %v", cfg.Jobs.Queue, err)
		}
	})
}

// Idle waits until the queue has no job waiting or running.
func (e *Env) Idle(t testing.TB, _ *dbtest.DB, timeout time.Duration) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(e.Config.Redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	deadline := time.Now().Add(timeout)
	for {
		info, err := in.GetQueueInfo(e.Config.Jobs.Queue)
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Fatal(err)
		}
		if err != nil || info.Pending+info.Active+info.Scheduled+info.Retry == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs: Asynq queue still busy after %s: %+v", timeout, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RecoveryDelay is how long after a worker's death its job becomes
// available to another worker: Asynq's recoverer hands a task back once its
// lease (30 s, renewed while the worker lives) is 30 s past due. A worker
// started later than this recovers the task as it starts.
func (e *Env) RecoveryDelay() time.Duration { return 61 * time.Second }

// AwaitDelivery waits until a worker has taken job id off the queue, which
// Asynq allows before the enqueuing transaction commits: the task is no
// longer pending (it is active, or already done and gone).
func (e *Env) AwaitDelivery(t testing.TB, id uuid.UUID) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(e.Config.Redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspector(opt)
	defer func() { _ = in.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := in.GetTaskInfo(e.Config.Jobs.Queue, id.String())
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound):
			return
		case err != nil:
			t.Fatal(err)
		case info.State != asynq.TaskStatePending:
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs: task %s still pending after 10s", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
