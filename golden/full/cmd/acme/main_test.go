package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acme/acme/internal/platform/database/dbtest"
	"github.com/acme/acme/internal/platform/redisx/redistest"
)

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "acme")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
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
	cmd.Env = append(baseEnv(), "APP_ENV=staging", "DATABASE_MAX_CONNS=lots", "HTTP_WRITE_TIMEOUT=soon")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code == 0 {
		t.Fatalf("serve with bad configuration exited %d:\n%s", code, out)
	}
	for _, name := range []string{"APP_ENV", "DATABASE_MAX_CONNS", "HTTP_WRITE_TIMEOUT", "DATABASE_URL"} {
		if !bytes.Contains(out, []byte(name)) {
			t.Errorf("output does not name %s:\n%s", name, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"fly"}, {"migrate"}, {"migrate", "sideways"}, {"config", "-format", "xml"}} {
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
	for _, name := range []string{"DATABASE_URL", "MIGRATE_DATABASE_URL", "DATABASE_QUERY_EXEC_MODE", "HTTP_SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("config output lacks %s", name)
		}
	}
}

// TestEndToEnd builds the binary, migrates a fresh database as the owner
// (which also creates the app role), serves on a free port as the app role,
// talks HTTP to it and stops it with SIGTERM.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t) // provides a database; the binary migrates it itself
	rd := redistest.New(t)
	bin := buildBinary(t)

	// A fresh database: drop what dbtest migrated, so migrate up starts from zero.
	ctx := t.Context()
	if _, err := db.OwnerPool.Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	appURL := strings.Replace(db.AppURL, db.AppRole, db.AppRole+"_e2e", 1)
	t.Cleanup(func() {
		_, _ = db.OwnerPool.Exec(context.Background(), "DROP OWNED BY "+db.AppRole+"_e2e; DROP ROLE IF EXISTS "+db.AppRole+"_e2e")
	})

	addr := freeAddr(t)
	env := append(baseEnv(),
		"APP_ENV=test",
		"DATABASE_URL="+appURL,
		"MIGRATE_DATABASE_URL="+db.OwnerURL,
		"HTTP_ADDR="+addr,
		"HTTP_SHUTDOWN_TIMEOUT=5s",
		"REDIS_URL="+rd.Config.URL,
		"REDIS_KEY_PREFIX="+rd.Config.KeyPrefix,
	)

	migrate := exec.Command(bin, "migrate", "up")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, out)
	}
	status := exec.Command(bin, "migrate", "status")
	status.Env = env
	out, err := status.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "00001_create_tenants.sql") || strings.Contains(string(out), "pending") {
		t.Fatalf("migrate status: %v\n%s", err, out)
	}

	serve := exec.Command(bin, "serve")
	serve.Env = env
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	serve.Stderr = os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill() })
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()

	base := "http://" + addr
	waitReady(t, base+"/readyz")

	req, _ := http.NewRequest("GET", base+"/livez", nil)
	req.Header.Set("X-Request-ID", "e2e-request")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Request-ID") != "e2e-request" {
		t.Fatalf("/livez = %d, X-Request-ID %q", res.StatusCode, res.Header.Get("X-Request-ID"))
	}

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var all []string
	for line := range logs {
		all = append(all, line)
	}
	if err := serve.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly after SIGTERM: %v\n%s", err, strings.Join(all, "\n"))
	}
	joined := strings.Join(all, "\n")
	if !strings.Contains(joined, `"request_id":"e2e-request"`) || !strings.Contains(joined, `"route":"GET /livez"`) {
		t.Errorf("no request log line for /livez with its request id:\n%s", joined)
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
