package dbtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgBouncer starts a private PgBouncer in transaction pooling mode in front
// of db and returns the URL of db's application role through it. PgBouncer
// keeps at most poolSize server connections to db (a pool of 1 makes every
// client share one server connection). The process is stopped when the test
// ends.
//
// Without a pgbouncer binary (on PATH or /usr/sbin/pgbouncer) the test is
// skipped, unless TEST_REQUIRE_SERVICES=1, in which case it fails.
//
// PgBouncer 1.18 keeps no prepared statements across transactions, so a
// pool on the returned URL must use the exec or simple_protocol query exec
// mode (DATABASE_QUERY_EXEC_MODE).
func (db *DB) PgBouncer(t testing.TB, poolSize int) string {
	t.Helper()
	bin := pgbouncerBinary(t)

	app, err := url.Parse(db.AppURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	host, port := app.Hostname(), app.Port()
	if port == "" {
		port = "5432"
	}
	dir := t.TempDir()
	// trust: PgBouncer lets in the users listed in auth_file without a
	// password and logs in to PostgreSQL as them with the password listed.
	owner, err := url.Parse(db.OwnerURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	appPassword, _ := app.User.Password()
	ownerPassword, _ := owner.User.Password()
	users := fmt.Sprintf("%q %q\n%q %q\n", app.User.Username(), appPassword, owner.User.Username(), ownerPassword)
	listen := freePort(t)
	ini := fmt.Sprintf(`[databases]
%s = host=%s port=%s dbname=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
`, db.Name, host, port, db.Name, listen, filepath.Join(dir, "users.txt"), poolSize)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatalf("dbtest: %v", err)
		}
	}
	write("users.txt", users)
	write("pgbouncer.ini", ini)

	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root; -u drops to another user after
		// reading its configuration.
		u := unprivilegedUser(t)
		args = append([]string{"-u", u}, args...)
	}
	var out syncBuffer
	// bin is the pgbouncer found by pgbouncerBinary; the arguments are this
	// function's own configuration file and user.
	cmd := exec.Command(bin, args...) //nolint:gosec,noctx // lives until t's cleanup kills it, not until a context ends
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbtest: start pgbouncer: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	bouncerURL := *app
	bouncerURL.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(listen))
	probe := bouncerURL
	q := probe.Query()
	q.Set("default_query_exec_mode", "simple_protocol")
	probe.RawQuery = q.Encode()
	waitForBouncer(t, probe.String(), exited, &out)
	return bouncerURL.String()
}

func pgbouncerBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer"
	}
	const msg = "pgbouncer not found on PATH or at /usr/sbin/pgbouncer: install it (Debian/Ubuntu: apt-get install -y pgbouncer)"
	if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + " (TEST_REQUIRE_SERVICES=1 turns this skip into a failure)")
	}
	t.Skip(msg)
	return ""
}

func unprivilegedUser(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"postgres", "nobody"} {
		if _, err := user.Lookup(name); err == nil {
			return name
		}
	}
	t.Fatal("dbtest: running as root and neither user postgres nor nobody exists for pgbouncer -u")
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dbtest: find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("dbtest: free port %d: %v", port, err)
	}
	return port
}

func waitForBouncer(t testing.TB, connURL string, exited <-chan struct{}, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, connURL)
		if err == nil {
			err = conn.Ping(ctx)
			if cerr := conn.Close(ctx); err == nil {
				err = cerr
			}
		}
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("dbtest: pgbouncer exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: pgbouncer did not accept connections within 10s: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child
// process's stdout and stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
