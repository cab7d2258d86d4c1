package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"shop/internal/platform/auth"
	"shop/internal/platform/auth/authtest"
	"shop/internal/platform/database/dbtest"
	"shop/internal/platform/jobs/jobstest"
	"shop/internal/platform/redisx/redistest"
)

// instance is the binary serving on addr.
type instance struct {
	t    *testing.T
	bin  string
	env  []string
	url  string
	cmd  *exec.Cmd
	logs *authtest.LogSink
	done chan struct{}
}

// start runs `serve` on addr and waits until it is ready. Its output goes
// to logs.
func start(t *testing.T, bin string, env []string, addr string, logs *authtest.LogSink) *instance {
	t.Helper()
	in := &instance{t: t, bin: bin, env: append(slices.Clip(env), "HTTP_ADDR="+addr, "METRICS_ADDR="+freeAddr(t)), url: "http://" + addr, logs: logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of the instance on %s:\n%s", addr, logs.String())
		}
	})
	in.run()
	t.Cleanup(in.stop)
	return in
}

func (in *instance) run() {
	in.t.Helper()
	in.cmd = exec.Command(in.bin, "serve")
	in.cmd.Env = in.env
	out, err := in.cmd.StdoutPipe()
	if err != nil {
		in.t.Fatal(err)
	}
	in.cmd.Stderr = in.logs
	if err := in.cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	in.done = make(chan struct{})
	go func() {
		defer close(in.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			_, _ = in.logs.Write(append(sc.Bytes(), '\n'))
		}
	}()
	waitReady(in.t, in.url+"/readyz")
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() {
	if in.cmd.ProcessState != nil {
		return
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	<-in.done
	if err := in.cmd.Wait(); err != nil {
		in.t.Errorf("serve did not exit cleanly: %v", err)
	}
}

// restart stops the instance and starts it again on the same address.
func (in *instance) restart() {
	in.t.Helper()
	in.stop()
	in.run()
}

// operator runs an operator command of the binary and returns its stdout.
func operator(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: stderr.Bytes()}
	}
	return stdout.String(), nil
}

// getAs sends GET path to in as b (nil: a fresh browser) with extra headers.
func getAs(t *testing.T, b *authtest.Browser, in *instance, path string, header map[string]string) *http.Response {
	t.Helper()
	if b == nil {
		b = authtest.NewBrowser()
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, in.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res := b.Do(t, req, in.url)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// createTenant adds a tenant as the operator does.
func createTenant(t *testing.T, db *dbtest.DB, slug string) {
	t.Helper()
	if _, err := db.OwnerPool.Exec(t.Context(), `INSERT INTO tenants (slug, name) VALUES ($1, $1)`, slug); err != nil {
		t.Fatal(err)
	}
}

// TestTwoInstancesShareSessionsAndLimits starts the binary twice on one
// database and one Redis: a user signed in through one instance is signed
// in on the other, and still after a restart; the sign-in limit and the
// per-key limit count requests to both instances together. Both
// instances' logs hold no secret.
func TestTwoInstancesShareSessionsAndLimits(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	jobstest.MigrateBackend(t, db) // /readyz checks the queue
	rd := redistest.New(t)
	bin := buildBinary(t)
	provider, oidcEnv := authtest.Provider(t)
	addrA, addrB := freeAddr(t), freeAddr(t)
	env := append(baseEnv(),
		"APP_ENV=development", // plain HTTP: the cookie is not Secure
		"DATABASE_URL="+db.AppURL,
		"MIGRATE_DATABASE_URL="+db.OwnerURL,
		"REDIS_URL="+rd.Config.URL,
		"REDIS_KEY_PREFIX="+rd.Config.KeyPrefix,
		"OIDC_REDIRECT_URL=http://"+addrA+"/auth/callback",
		"TRUSTED_PROXIES=127.0.0.1/32",
		"RATE_LIMIT_API_KEY=5/hour",
		"HTTP_SHUTDOWN_TIMEOUT=5s",
	)
	env = append(env, oidcEnv...)
	logs := &authtest.LogSink{}
	a, b := start(t, bin, env, addrA, logs), start(t, bin, env, addrB, logs)
	var secrets []string
	t.Cleanup(func() { authtest.AssertNoSecrets(t, logs.String(), secrets...) })
	secrets = append(secrets, provider.ClientSecret)

	// Sign in through A; the session works through B, and through A after
	// A restarts.
	browser := authtest.NewBrowser()
	browser.Header.Set("X-Forwarded-For", "198.51.100.1")
	provider.QueueUser(authtest.Person("sub-two", "two@example.com"))
	if status, body := browser.SignIn(t, a.url, nil); status != http.StatusFound {
		t.Fatalf("sign-in through A: %d %s", status, body)
	}
	secrets = append(secrets, browser.Secrets()...)
	if res := getAs(t, browser, b, "/api/v1/me", nil); res.StatusCode != 200 {
		t.Fatalf("the session through B: %d, want 200", res.StatusCode)
	}
	a.restart()
	if res := getAs(t, browser, a, "/api/v1/me", nil); res.StatusCode != 200 {
		t.Fatalf("the session through A after A restarted: %d, want 200", res.StatusCode)
	}

	// The sixth sign-in attempt in a minute from one IP is refused, the
	// attempts alternating between the instances; another IP is not.
	for i := 1; i <= 6; i++ {
		in := []*instance{a, b}[i%2]
		res := getAs(t, nil, in, "/auth/login", map[string]string{"X-Forwarded-For": "198.51.100.2"})
		switch {
		case i < 6 && res.StatusCode != http.StatusFound:
			t.Fatalf("sign-in attempt %d: %d, want 302", i, res.StatusCode)
		case i == 6 && (res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == ""):
			t.Fatalf("sixth sign-in attempt: %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	if res := getAs(t, nil, b, "/auth/login", map[string]string{"X-Forwarded-For": "198.51.100.3"}); res.StatusCode != http.StatusFound {
		t.Errorf("another IP: %d, want 302", res.StatusCode)
	}

	// The per-key limit (RATE_LIMIT_API_KEY=5/hour) likewise; another key
	// is unaffected. The keys come from the operator command.
	createTenant(t, db, "acme")
	var keys []string
	for range 2 {
		out, err := operator(t, bin, env, "apikeys", "create", "--tenant", "acme", "--name", "ci")
		if err != nil {
			t.Fatalf("apikeys create: %v %s", err, stderrOf(err))
		}
		keys = append(keys, strings.TrimSpace(out))
	}
	secrets = append(secrets, keys...)
	for i := 1; i <= 6; i++ {
		in := []*instance{a, b}[i%2]
		res := getAs(t, nil, in, "/api/v1/me", map[string]string{"Authorization": "Bearer " + keys[0]})
		switch {
		case i < 6 && res.StatusCode != http.StatusOK:
			t.Fatalf("key request %d: %d, want 200", i, res.StatusCode)
		case i == 6 && (res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == ""):
			t.Fatalf("sixth key request: %d, want 429 with Retry-After", res.StatusCode)
		}
	}
	if res := getAs(t, nil, a, "/api/v1/me", map[string]string{"Authorization": "Bearer " + keys[1]}); res.StatusCode != http.StatusOK {
		t.Errorf("another key: %d, want 200", res.StatusCode)
	}
}

// TestOperatorWalkthrough is the README's quick start without an identity
// provider: migrate, a tenant, an API key from the operator command, a
// request with it; then list and revoke the key.
func TestOperatorWalkthrough(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	rd := redistest.New(t)
	bin := buildBinary(t)
	if _, err := db.OwnerPool.Exec(t.Context(), "DROP SCHEMA public CASCADE; CREATE SCHEMA public"); err != nil {
		t.Fatal(err)
	}
	appURL := strings.Replace(db.AppURL, db.AppRole, db.AppRole+"_ops", 1)
	t.Cleanup(func() {
		_, _ = db.OwnerPool.Exec(context.Background(), "DROP OWNED BY "+db.AppRole+"_ops; DROP ROLE IF EXISTS "+db.AppRole+"_ops")
	})
	env := append(baseEnv(),
		"APP_ENV=test",
		"DATABASE_URL="+appURL,
		"MIGRATE_DATABASE_URL="+db.OwnerURL,
		"REDIS_URL="+rd.Config.URL,
		"REDIS_KEY_PREFIX="+rd.Config.KeyPrefix,
		"HTTP_SHUTDOWN_TIMEOUT=5s",
	)
	if out, err := operator(t, bin, env, "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, out)
	}
	createTenant(t, db, "acme")
	out, err := operator(t, bin, env, "apikeys", "create", "--tenant", "acme", "--name", "ci", "--role", "admin", "--expires", "720h")
	if err != nil {
		t.Fatalf("apikeys create: %v %s", err, stderrOf(err))
	}
	key := strings.TrimSpace(out)
	logs := &authtest.LogSink{}
	in := start(t, bin, env, freeAddr(t), logs)
	t.Cleanup(func() { authtest.AssertNoSecrets(t, logs.String(), key) })

	res := getAs(t, nil, in, "/api/v1/me", map[string]string{"Authorization": "Bearer " + key})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("curl with the new key: %d", res.StatusCode)
	}
	if res := getAs(t, nil, in, "/api/v1/me", nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the key: %d, want 401", res.StatusCode)
	}

	out, err = operator(t, bin, env, "apikeys", "list", "--tenant", "acme")
	prefix := auth.PrefixOf(key)
	if err != nil || !strings.Contains(out, prefix) || strings.Contains(out, key) {
		t.Fatalf("apikeys list: %v\n%s\nwant the prefix %s and never the key", err, out, prefix)
	}
	if out, err := operator(t, bin, env, "apikeys", "revoke", prefix); err != nil {
		t.Fatalf("apikeys revoke: %v %s", err, out)
	}
	deadline := time.Now().Add(auth.CacheTTL + time.Second)
	for getAs(t, nil, in, "/api/v1/me", map[string]string{"Authorization": "Bearer " + key}).StatusCode != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatalf("the revoked key still works after %s", auth.CacheTTL+time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// members add refuses a user who never signed in, naming the reason.
	_, err = operator(t, bin, env, "members", "add", "--tenant", "acme", "--email", "nobody@example.com", "--role", "owner")
	if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != exitError || !strings.Contains(string(ee.Stderr), "signed in") {
		t.Errorf("members add for an unknown user: %v", err)
	}
	if _, err := operator(t, bin, env, "apikeys", "create", "--tenant", "acme"); !isExit(err, exitUsage) {
		t.Errorf("apikeys create without --name: %v, want exit %d", err, exitUsage)
	}
}

// isExit reports whether err is an exit with code.
func isExit(err error, code int) bool {
	ee, ok := errors.AsType[*exec.ExitError](err)
	return ok && ee.ExitCode() == code
}

// apiKey creates an API key of tenant slug with the operator command.
func (d *deployment) apiKey(t *testing.T, slug string) string {
	t.Helper()
	for line := range strings.SplitSeq(d.run(t, "apikeys", "create", "--tenant", slug, "--name", "test"), "\n") {
		if strings.HasPrefix(line, "sk_") {
			return line
		}
	}
	t.Fatal("apikeys create printed no key")
	return ""
}

// stderrOf returns the standard error an *exec.ExitError carries.
func stderrOf(err error) []byte {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.Stderr
	}
	return nil
}
