package app

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shop/internal/platform/auth/authtest"
	"shop/internal/platform/config"
	"shop/internal/platform/database/dbtest"
	"shop/internal/platform/httpx"
	"shop/internal/platform/jobs/jobstest"
	"shop/internal/platform/module"
	"shop/internal/platform/redisx/redistest"
)

func newTestApp(t *testing.T, databaseURL string, environ ...string) *App {
	t.Helper()
	cfg, err := config.Load(append([]string{"DATABASE_URL=" + databaseURL, "APP_ENV=test", "BLOB_URL=file://" + t.TempDir()}, environ...))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, authtest.Logger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// readyzStatus returns the status and the body of a's /readyz.
func readyzStatus(t *testing.T, a *App) (int, httpx.Status) {
	t.Helper()
	res, body := get(t, a.Handler, "/readyz")
	var st httpx.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/readyz = %d %s: %v", res.StatusCode, body, err)
	}
	return res.StatusCode, st
}

// TestReadyzNamesEachFailedDependency: /readyz answers 200 while the
// database, Redis, the job queue and the object storage answer, and 503
// naming the one that does not, never why.
func TestReadyzNamesEachFailedDependency(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t, moduleMigrations(t)...)
	jobstest.MigrateBackend(t, db)
	rd := redistest.New(t)
	redisEnv := []string{"REDIS_URL=" + rd.Config.URL, "REDIS_KEY_PREFIX=" + rd.Config.KeyPrefix}
	a := newTestApp(t, db.AppURL, redisEnv...)
	if code, st := readyzStatus(t, a); code != 200 || st.Status != "ok" {
		t.Fatalf("/readyz = %d %+v, want 200 ok", code, st)
	}
	failed := func(name string, a *App, want ...string) {
		t.Helper()
		code, st := readyzStatus(t, a)
		if code != 503 || st.Status != "unavailable" || !slices.Equal(st.Failed, want) {
			t.Errorf("%s: /readyz = %d %+v, want 503 unavailable naming %v", name, code, st, want)
		}
	}

	// Redis down: the rate limits and sessions cannot work.
	failed("Redis down", newTestApp(t, db.AppURL, "REDIS_URL=redis://127.0.0.1:1/0", "REDIS_DIAL_TIMEOUT=200ms"),
		"redis")

	// The storage's directory gone.
	dir := t.TempDir()
	noStorage := newTestApp(t, db.AppURL, append(redisEnv, "BLOB_URL=file://"+dir)...)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	failed("storage gone", noStorage, "storage")

	// River's table out of the application role's reach (as before
	// migrate up created it).
	if _, err := db.OwnerPool.Exec(t.Context(), "REVOKE ALL ON river_job FROM "+pgx.Identifier{db.AppRole}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	failed("River's table unreadable", a, "queue")
	if _, err := db.OwnerPool.Exec(t.Context(), "GRANT SELECT, INSERT, UPDATE, DELETE ON river_job TO "+pgx.Identifier{db.AppRole}.Sanitize()); err != nil {
		t.Fatal(err)
	}

	if res, _ := get(t, a.Handler, "/livez"); res.StatusCode != 200 {
		t.Fatalf("/livez = %d", res.StatusCode)
	}
	// The database down: the pool closed.
	a.Pool.Close()
	res, body := get(t, a.Handler, "/readyz")
	if strings.Contains(string(body), db.Name) {
		t.Errorf("/readyz on a closed pool names the database: %s", body)
	}
	failed("database down", a, "database", "queue")
	if res.StatusCode != 503 {
		t.Errorf("/readyz on a closed pool = %d", res.StatusCode)
	}
	if res, _ := get(t, a.Handler, "/livez"); res.StatusCode != 200 {
		t.Fatalf("/livez must not depend on the database, got %d", res.StatusCode)
	}
}

// unreachableURL names a database nobody listens for; its user and
// database names must not leak.
const unreachableURL = "postgres://secret_owner@127.0.0.1:1/secret_db?sslmode=disable"

// TestCloseIsBounded: a connection never given back (a handler stuck past
// its cancellation) does not keep Close, and so the process, alive.
func TestCloseIsBounded(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	cfg, err := config.Load([]string{"DATABASE_URL=" + db.AppURL, "APP_ENV=test"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := a.Pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	closed := make(chan struct{})
	start := time.Now()
	go func() {
		a.Close(context.Background())
		close(closed)
	}()
	select {
	case <-closed:
		if d := time.Since(start); d < closeTimeout/2 {
			t.Errorf("Close returned after %s although a connection is in use", d)
		}
	case <-time.After(closeTimeout + 2*time.Second):
		t.Fatalf("Close still waits %s later for the connection in use", closeTimeout+2*time.Second)
	}
}

func TestReadyzWhenDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, unreachableURL)
	res, body := get(t, a.Handler, "/readyz")
	if res.StatusCode != 503 {
		t.Fatalf("/readyz with no database = %d %s", res.StatusCode, body)
	}
	for _, leak := range []string{"secret_owner", "secret_db", "127.0.0.1", "refused", "error"} {
		if strings.Contains(string(body), leak) {
			t.Errorf("/readyz tells anyone %q: %s", leak, body)
		}
	}
}

// TestAPIAnswers503WhenDatabaseUnreachable: a request that needs the
// database while it is down gets 503 JSON with Retry-After, not 500.
func TestAPIAnswers503WhenDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, unreachableURL, "REDIS_URL=redis://127.0.0.1:1/0", "REDIS_DIAL_TIMEOUT=200ms")
	req := httptest.NewRequest("GET", module.APIPrefix+"anything", nil)
	req.Header.Set(a.Config.Tenancy.Header, "acme")
	// A well-formed key: checking it needs the database.
	req.Header.Set("Authorization", "Bearer sk_"+strings.Repeat("a", 12)+"_"+strings.Repeat("a", 52))
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	var eb httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || rec.Code != 503 || eb.Error.Code != "unavailable" {
		t.Fatalf("API request with no database = %d %s; want 503 unavailable", rec.Code, rec.Body)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

// TestMetricsAreNotPublic: /metrics is served by a.Metrics (the
// METRICS_ADDR listener), never by the public handler.
func TestMetricsAreNotPublic(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, unreachableURL)
	if res, body := get(t, a.Handler, "/metrics"); res.StatusCode != 404 {
		t.Errorf("public /metrics = %d %.200s, want 404", res.StatusCode, body)
	}
	res, body := get(t, a.Metrics, "/metrics")
	if res.StatusCode != 200 || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("metrics /metrics = %d %.200s", res.StatusCode, body)
	}
}

func TestUnknownRouteIsJSON404WithRequestID(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	res, body := get(t, a.Handler, "/nope")
	var eb httpx.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || res.StatusCode != 404 || eb.Error.Code != "not_found" {
		t.Fatalf("GET /nope = %d %s", res.StatusCode, body)
	}
	if id := res.Header.Get(httpx.RequestIDHeader); id == "" || id != eb.Error.RequestID {
		t.Fatalf("request id header %q, body %q", id, eb.Error.RequestID)
	}
}

func TestWrongMethodIsJSON405(t *testing.T) {
	t.Parallel()
	a := newTestApp(t, "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, httptest.NewRequest("POST", "/livez", nil))
	var eb httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || rec.Code != 405 || eb.Error.Code != "method_not_allowed" {
		t.Fatalf("POST /livez = %d %s", rec.Code, rec.Body)
	}
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q, want GET listed", allow)
	}
}

func TestModulesAreUniqueAndMigrationsMerge(t *testing.T) {
	if _, err := Migrations(); err != nil {
		t.Fatal(err)
	}
	mods := installedModules()
	if len(mods) > 0 {
		cfg, _ := config.Load([]string{"DATABASE_URL=postgres://x@127.0.0.1:1/x", "BLOB_URL=file://" + t.TempDir()})
		if _, err := build(context.Background(), cfg, slog.New(slog.DiscardHandler), nil, append(mods, mods[0])); err == nil {
			t.Fatal("a module installed twice was accepted")
		}
	}
}

func moduleMigrations(t *testing.T) []fs.FS {
	t.Helper()
	var out []fs.FS
	for _, m := range installedModules() {
		if m.Migrations != nil {
			out = append(out, m.Migrations)
		}
	}
	return out
}
