package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/acme/acme/internal/platform/database/dbtest"
	"github.com/acme/acme/internal/platform/files"
	"github.com/acme/acme/internal/platform/jobs/jobstest"
	"github.com/acme/acme/internal/platform/redisx/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
	buildOut  []byte
)

// buildBinary builds the command once for every test of the package.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "acme-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "acme")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// baseEnv keeps what the binary needs from the test's environment without
// leaking any of the application's own variables into it.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

func TestBinaryRefusesBadConfigurationNamingEachVariable(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(baseEnv(), "APP_ENV=staging", "DATABASE_MAX_CONNS=lots", "HTTP_WRITE_TIMEOUT=soon", "DATABASE_STATEMENT_TIMEOUT=0s", "METRICS_ADDR=:8080")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code == 0 {
		t.Fatalf("serve with bad configuration exited %d:\n%s", code, out)
	}
	for _, name := range []string{"APP_ENV", "DATABASE_MAX_CONNS", "HTTP_WRITE_TIMEOUT", "DATABASE_URL", "DATABASE_STATEMENT_TIMEOUT", "METRICS_ADDR"} {
		if !bytes.Contains(out, []byte(name)) {
			t.Errorf("output does not name %s:\n%s", name, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil, {"fly"}, {"migrate"}, {"migrate", "sideways"}, {"config", "-format", "xml"},
		{"tenants"}, {"tenants", "delete", "acme"}, {"tenants", "create", "acme"}, {"tenants", "create", "Not A Slug", "Name"},
		{"tenants", "create", "acme", " "}, {"tenants", "rename", "acme"}, {"tenants", "rename", "acme", "-bad-"}, {"tenants", "list", "all"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, nil, &stdout, &stderr); code != exitUsage {
			t.Errorf("run(%q) = %d, want %d; stderr:\n%s", args, code, exitUsage, stderr.String())
		}
	}
}

func TestConfigListsEveryVariable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"config"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("config exited %d: %s", code, stderr.String())
	}
	for _, name := range []string{"DATABASE_URL", "MIGRATE_DATABASE_URL", "DATABASE_QUERY_EXEC_MODE", "HTTP_SHUTDOWN_TIMEOUT", "METRICS_ADDR"} {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("config output lacks %s", name)
		}
	}
}

// deployment is a fresh database migrated by the binary, with the
// environment the binary runs with.
type deployment struct {
	db  *dbtest.DB
	bin string
	env []string
	// base and metrics are the URLs of the public and metrics listeners.
	base, metrics string
}

// deploy builds the binary and migrates a fresh database with it as the
// owner (which also creates the app role); extra adds to its environment.
func deploy(t *testing.T, extra ...string) *deployment {
	t.Helper()
	db := dbtest.New(t) // provides a database; the binary migrates it itself
	rd := redistest.New(t)
	d := &deployment{db: db, bin: buildBinary(t)}

	// A fresh database: drop what dbtest migrated, so migrate up starts from zero.
	if _, err := db.OwnerPool.Exec(t.Context(), "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	role := db.AppRole + "_e2e"
	appURL := strings.Replace(db.AppURL, db.AppRole, role, 1)
	t.Cleanup(func() {
		_, _ = db.OwnerPool.Exec(context.Background(), "DROP OWNED BY "+role+"; DROP ROLE IF EXISTS "+role)
	})
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	d.base, d.metrics = "http://"+addr, "http://"+metricsAddr
	d.env = append(baseEnv(),
		"APP_ENV=test",
		"DATABASE_URL="+appURL,
		"MIGRATE_DATABASE_URL="+db.OwnerURL,
		"HTTP_ADDR="+addr,
		"METRICS_ADDR="+metricsAddr,
		"HTTP_SHUTDOWN_TIMEOUT=5s",
		"BLOB_URL=file://"+t.TempDir(),
		"REDIS_URL="+rd.Config.URL,
		"REDIS_KEY_PREFIX="+rd.Config.KeyPrefix,
	)
	d.env = append(d.env, extra...)
	d.run(t, "migrate", "up")
	return d
}

// run runs the binary with args to completion and returns its output.
func (d *deployment) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(d.bin, args...)
	cmd.Env = d.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// server is a running `serve`.
type server struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited and logs is complete
	logs    []string      // its stdout, line by line
	err     error         // of Wait
	stopped time.Time     // when SIGTERM was sent
}

// serve starts the binary's server and waits until it is ready.
func (d *deployment) serve(t *testing.T) *server {
	t.Helper()
	cmd := exec.Command(d.bin, "serve")
	cmd.Env = d.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.logs = append(s.logs, sc.Text())
		}
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
	})
	waitReady(t, d.base+"/readyz")
	return s
}

// terminate sends SIGTERM.
func (s *server) terminate(t *testing.T) {
	t.Helper()
	s.stopped = time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// wait waits at most limit for the process to exit after terminate and
// returns its logs and how long it took; it fails the test when the process
// is still running, or failed.
func (s *server) wait(t *testing.T, limit time.Duration) (logs string, took time.Duration) {
	t.Helper()
	select {
	case <-s.exited:
		took = time.Since(s.stopped)
	case <-time.After(limit):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("serve still running %s after SIGTERM:\n%s", limit, strings.Join(s.logs, "\n"))
	}
	logs = strings.Join(s.logs, "\n")
	if s.err != nil {
		t.Fatalf("serve did not exit cleanly after SIGTERM: %v\n%s", s.err, logs)
	}
	return logs, took
}

// TestEndToEnd builds the binary, migrates a fresh database as the owner
// (which also creates the app role), creates a tenant with the operator
// command, serves on free ports as the app role, talks HTTP to it, scrapes
// its metrics on their own listener and stops it with SIGTERM.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	d := deploy(t)
	if out := d.run(t, "migrate", "status"); !strings.Contains(out, "00001_create_tenants.sql") || strings.Contains(out, "pending") {
		t.Fatalf("migrate status:\n%s", out)
	}
	if out := d.run(t, "tenants", "create", "acme", "Acme Inc."); !strings.Contains(out, "created tenant acme") {
		t.Fatalf("tenants create:\n%s", out)
	}
	d.run(t, "tenants", "rename", "acme", "acme-corp")
	if out := d.run(t, "tenants", "list"); !strings.Contains(out, "acme-corp") || !strings.Contains(out, "Acme Inc.") {
		t.Fatalf("tenants list:\n%s", out)
	}
	s := d.serve(t)

	req, _ := http.NewRequest("GET", d.base+"/livez", nil)
	req.Header.Set("X-Request-ID", "e2e-request")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Request-ID") != "e2e-request" {
		t.Fatalf("/livez = %d, X-Request-ID %q", res.StatusCode, res.Header.Get("X-Request-ID"))
	}

	// The tenant made by the operator command is served, by its old slug
	// too, to a key of its own made by the operator command.
	key := d.apiKey(t, "acme")
	for _, slug := range []string{"acme-corp", "acme"} {
		if status, body := get(t, d.base+"/api/v1/no-such-route", "Authorization", "Bearer "+key, "X-Tenant-ID", slug); status != 404 || !strings.Contains(body, "not_found") {
			t.Errorf("API request as %s = %d %s; want the mux's 404 not_found, past the tenant", slug, status, body)
		}
	}
	if status, body := get(t, d.base+"/api/v1/no-such-route", "Authorization", "Bearer "+key, "X-Tenant-ID", "nobody", "X-Request-ID", "e2e-request"); status != 404 || !strings.Contains(body, "tenant_not_found") {
		t.Errorf("API request as an unknown tenant = %d %s; want 404 tenant_not_found", status, body)
	}
	if status, body := get(t, d.base+"/api/v1/no-such-route", "X-Tenant-ID", "acme"); status != 401 {
		t.Errorf("API request without credentials = %d %s; want 401", status, body)
	}

	if status, body := get(t, d.metrics+"/metrics"); status != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics listener /metrics = %d %.300s", status, body)
	}
	if status, body := get(t, d.base+"/metrics"); status != 404 {
		t.Errorf("public /metrics = %d %.300s; want 404", status, body)
	}

	s.terminate(t)
	logs, _ := s.wait(t, 10*time.Second)
	// One request line per request, with its id; health probes are logged
	// at debug level only (LOG_LEVEL is info).
	if lines := requestLines(logs, "e2e-request"); len(lines) != 1 || lines[0]["status"] != float64(404) || lines[0]["duration_ms"] == nil {
		t.Errorf("want one request log line for the API request with its request id, got %v:\n%s", lines, logs)
	}
	if strings.Contains(logs, `"route":"GET /livez"`) {
		t.Errorf("a health probe is logged above debug level:\n%s", logs)
	}
}

// TestShutdownIsBounded: a request stuck behind a lock the test holds does
// not keep the process alive past HTTP_SHUTDOWN_TIMEOUT. After SIGTERM
// /readyz answers 503 at once; at the end of the grace period the stuck
// request is cancelled (its statement too), its client gets an answer or a
// closed connection, and the process exits.
func TestShutdownIsBounded(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	// A statement timeout longer than the test: the shutdown must bound it.
	d := deploy(t, "HTTP_SHUTDOWN_TIMEOUT="+grace.String(), "DATABASE_STATEMENT_TIMEOUT=1m")
	d.run(t, "tenants", "create", "acme", "Acme Inc.")
	key := d.apiKey(t, "acme")
	s := d.serve(t)

	ctx := t.Context()
	lock, err := d.db.OwnerPool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.Background())
	if _, err := lock.Exec(ctx, "LOCK TABLE tenant_slugs IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	stuck := make(chan string, 1)
	go func() {
		client := &http.Client{Timeout: 30 * time.Second} // a hang fails below
		req, _ := http.NewRequest("GET", d.base+"/api/v1/anything", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Tenant-ID", "acme")
		res, err := client.Do(req)
		if err != nil {
			stuck <- "error: " + err.Error()
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		stuck <- res.Status + " " + string(body)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; {
		if err := d.db.OwnerPool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never waited for the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}

	s.terminate(t)
	// Draining: the listener is still open and /readyz says so.
	var readyz string
	for i := 0; i < 50 && !strings.Contains(readyz, "draining"); i++ {
		time.Sleep(20 * time.Millisecond)
		status, body := getQuiet(d.base + "/readyz")
		readyz = status + " " + body
	}
	if !strings.HasPrefix(readyz, "503") || !strings.Contains(readyz, "draining") {
		t.Errorf("/readyz while draining = %s; want 503 draining", readyz)
	}

	logs, took := s.wait(t, grace+10*time.Second)
	t.Logf("exited %s after SIGTERM, grace period %s", took, grace)
	if limit := grace + 3*time.Second; took > limit { // 2s documented, 1s for a loaded machine
		t.Errorf("the process exited %s after SIGTERM; the bound is %s", took, limit)
	}
	select {
	case answer := <-stuck:
		t.Logf("the stuck request got %s", answer)
		if !strings.HasPrefix(answer, "error: ") && !strings.Contains(answer, "shutting_down") {
			t.Errorf("the stuck request got %s; want 503 shutting_down or a closed connection", answer)
		}
	case <-time.After(2 * time.Second):
		t.Error("the stuck request's client is still waiting after the process exited")
	}
	// The stuck statement was cancelled on the server, not left waiting for
	// the lock after its client exited.
	var waiting int
	if err := d.db.OwnerPool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil || waiting != 0 {
		t.Errorf("%d statements still wait for the lock after the process exited (%v)", waiting, err)
	}
	if t.Failed() {
		t.Log(logs)
	}
}

// get sends GET url with the given header name and value pairs and returns
// the status and body.
// requestLines returns the JSON request lines of logs for requestID.
func requestLines(logs, requestID string) []map[string]any {
	var lines []map[string]any
	for _, l := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "request" && rec["request_id"] == requestID {
			lines = append(lines, rec)
		}
	}
	return lines
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// getQuiet is get on a fresh connection, reporting errors as the status.
func getQuiet(url string) (status, body string) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Get(url)
	if err != nil {
		return "error", err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.Status, string(b)
}

// TestWorkerKilledMidJobIsRetried kills the worker process (SIGKILL, no
// chance to clean up) in the middle of a job and checks that the job is not
// lost: another process, serve with JOBS_IN_PROCESS=true, retries it and
// completes it. The job is files.sweep, held mid-way by a lock the test
// takes on the files table.
func TestWorkerKilledMidJobIsRetried(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	bin := buildBinary(t)
	ctx := t.Context()
	// JOBS_TIMEOUT bounds River's rescue of the dead worker's job (it must
	// have run longer than both it and JOBS_RESCUE_AFTER).
	bg := jobstest.New(t, db, db.AppPool, "JOBS_TIMEOUT=3s", "JOBS_RESCUE_AFTER=4s")
	bg.Seal(t)
	var tenant uuid.UUID
	if err := db.OwnerPool.QueryRow(ctx, `INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	orphan := "tenants/" + tenant.String() + "/files/" + uuid.NewString()
	if err := bg.Blob.Bucket.WriteAll(ctx, orphan, []byte("left by a crash"), nil); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-files.OrphanAge - time.Hour)
	if err := os.Chtimes(filepath.Join(bg.BlobDir, filepath.FromSlash(orphan)), old, old); err != nil {
		t.Fatal(err)
	}

	lock, err := db.OwnerPool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.WithoutCancel(ctx))
	if _, err := lock.Exec(ctx, "LOCK TABLE files IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	id, err := bg.Files.EnqueueSweep(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}

	env := append(append(baseEnv(), bg.Environ...), "HTTP_ADDR="+freeAddr(t), "METRICS_ADDR="+freeAddr(t))
	worker := exec.Command(bin, "worker")
	worker.Env = env
	worker.Stdout, worker.Stderr = io.Discard, os.Stderr
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	// Bounds, not timings: a loaded machine starts the worker slowly.
	bg.Wait(t, tenant, id, 90*time.Second, "running")
	if err := worker.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = worker.Wait()
	if st := bg.Wait(t, tenant, id, time.Second, "running"); st.Attempts != 1 {
		t.Fatalf("job of the killed worker: %+v, want running in attempt 1", st)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	time.Sleep(bg.RecoveryDelay())
	serve := exec.Command(bin, "serve")
	serve.Env = append(env, "JOBS_IN_PROCESS=true")
	serve.Stdout, serve.Stderr = io.Discard, os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill() })
	st := bg.Wait(t, tenant, id, 90*time.Second)
	if st.State != "completed" || st.Attempts != 2 {
		t.Errorf("job after its worker died: %+v, want completed in attempt 2", st)
	}
	if exists, err := bg.Blob.Bucket.Exists(ctx, orphan); err != nil || exists {
		t.Errorf("the orphan still exists (%v): the retried job did not do its work", err)
	}
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := serve.Wait(); err != nil {
		t.Errorf("serve with workers did not exit cleanly after SIGTERM: %v", err)
	}
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %d %s", url, res.StatusCode, body)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
