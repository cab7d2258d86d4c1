// Package jobstest runs the project's real job queue in tests: River on the
// test database or Asynq on the test Redis (TEST_REDIS_URL), each test with
// a queue of its own, object storage in a temporary directory, and settings
// that keep retries and shutdowns fast.
package jobstest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"example.com/minimal/internal/platform/auth/authtest"
	"example.com/minimal/internal/platform/blob"
	"example.com/minimal/internal/platform/config"
	"example.com/minimal/internal/platform/database/dbtest"
	"example.com/minimal/internal/platform/files"
	"example.com/minimal/internal/platform/jobs"
)

// Env is a job queue with its storage and files, ready for a test.
type Env struct {
	Config   *config.Config
	Registry *prometheus.Registry
	Queue    *jobs.Queue
	Blob     *blob.Store
	Files    *files.Service
	// BlobDir is the directory of a file:// bucket ("" for S3).
	BlobDir string
	// Environ is the configuration as KEY=value settings, for a binary
	// that should share the test's queue and storage.
	Environ []string
}

// Settings returns the environment (KEY=value) Env uses for db: fast
// retries (JOBS_RETRY_BACKOFF=50ms), three attempts, short timeouts, a
// private queue, storage in a temporary directory. The backend's own
// settings come last (see backend.go).
func Settings(t testing.TB, db *dbtest.DB) []string {
	t.Helper()
	return append([]string{
		"APP_ENV=test",
		"DATABASE_URL=" + db.AppURL,
		"BLOB_URL=file://" + t.TempDir() + "?create_dir=true&no_tmp_dir=true",
		"BLOB_SIGNING_KEY=" + rand.Text() + rand.Text(),
		"JOBS_QUEUE=test_" + strings.ToLower(rand.Text()),
		"JOBS_MAX_ATTEMPTS=3",
		"JOBS_RETRY_BACKOFF=50ms",
		"JOBS_SHUTDOWN_TIMEOUT=5s",
		"JOBS_CONCURRENCY=4",
	}, backendSettings(t, db)...)
}

// New returns an Env on db whose queue uses pool (the application role),
// with extra settings (KEY=value) applied over Settings. Register job kinds
// on Queue, then Start it.
func New(t testing.TB, db *dbtest.DB, pool *pgxpool.Pool, extra ...string) *Env {
	t.Helper()
	environ := append(Settings(t, db), extra...)
	cfg, err := config.Load(environ)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Config: cfg, Registry: prometheus.NewRegistry(), Environ: environ}
	if dir, ok := strings.CutPrefix(cfg.Blob.URL, "file://"); ok {
		e.BlobDir, _, _ = strings.Cut(dir, "?")
	}
	logger := Logger(t)
	ctx := t.Context()
	if e.Blob, err = blob.Open(ctx, cfg, logger); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Blob.Close() })
	if e.Queue, err = jobs.New(cfg, pool, logger, e.Registry); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Queue.Close() })
	prepareBackend(t, db, cfg)
	if e.Files, err = files.New(pool, e.Blob, e.Queue, cfg.Upload, logger); err != nil {
		t.Fatal(err)
	}
	return e
}

// Logger logs as the application does (JSON, debug level) into the test
// binary's log that authtest.Main scans for credentials, and also to the
// test's log when JOBS_TEST_LOG=1.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("JOBS_TEST_LOG") == "1" {
		return authtest.Logger(testWriter{t})
	}
	return authtest.Logger()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Seal seals the queue once every kind is registered.
func (e *Env) Seal(t testing.TB) {
	t.Helper()
	if err := e.Queue.Seal(); err != nil {
		t.Fatal(err)
	}
}

// Start seals the queue and runs its workers until the test ends, or
// until the returned stop is called; stop returns once Run has returned.
func (e *Env) Start(t testing.TB) (stop func()) {
	t.Helper()
	e.Seal(t)
	return e.Run(t)
}

// Run runs the workers of a sealed queue, as Start does.
func (e *Env) Run(t testing.TB) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- e.Queue.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("jobs: Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// Wait polls job id of tenantID until its state is one of states (by
// default completed or failed) and returns its status; it fails the test
// after timeout.
func (e *Env) Wait(t testing.TB, tenantID, id uuid.UUID, timeout time.Duration, states ...jobs.State) jobs.Status {
	t.Helper()
	if len(states) == 0 {
		states = []jobs.State{"completed", "failed"}
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := e.Queue.Get(context.Background(), tenantID, id)
		if err != nil {
			t.Fatalf("jobs: status of %s: %v", id, err)
		}
		for _, s := range states {
			if st.State == s {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs: job %s is %s after %s, want %v (status %+v)", id, st.State, timeout, states, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
