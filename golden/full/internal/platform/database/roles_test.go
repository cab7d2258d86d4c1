package database_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/database"
	"github.com/acme/acme/internal/platform/database/dbtest"
)

// TestAppRoleCannotChangeTenants: the app role reads the tenants tables and
// changes nothing in them, also after migrate up ran again (which grants
// every table before revoking).
func TestAppRoleCannotChangeTenants(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	var id string
	if err := db.OwnerPool.QueryRow(ctx, `INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		var n int
		if err := db.AppPool.QueryRow(ctx, `SELECT count(*) FROM tenants JOIN tenant_slugs ON tenant_id = id`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("run %d: app role reads %d tenants (%v), want 1", run, n, err)
		}
		for _, stmt := range []string{
			`INSERT INTO tenants (slug, name) VALUES ('intruder', 'Intruder')`,
			`UPDATE tenants SET slug = 'hijacked'`,
			`DELETE FROM tenants`,
			`TRUNCATE tenants CASCADE`,
			`INSERT INTO tenant_slugs (slug, tenant_id) VALUES ('squatted', '` + id + `')`,
			`UPDATE tenant_slugs SET tenant_id = tenant_id`,
			`DELETE FROM tenant_slugs`,
			`TRUNCATE tenant_slugs`,
		} {
			_, err := db.AppPool.Exec(ctx, stmt)
			if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "42501" {
				t.Errorf("run %d: app role %s: %v; want permission denied (42501)", run, stmt, err)
			}
		}
		if err := database.EnsureAppRole(ctx, db.OwnerPool, db.AppURL, dbtest.RoleSettings); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatementTimeoutBoundsStatements: the statement timeout migrate up
// sets on the app role stops a statement stuck behind a lock, on a direct
// connection and through PgBouncer in transaction mode (which refuses
// statement_timeout as a startup parameter), and the error counts as the
// database being unavailable.
func TestStatementTimeoutBoundsStatements(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	const timeout = 300 * time.Millisecond
	if err := database.EnsureAppRole(ctx, db.OwnerPool, db.AppURL, database.RoleSettings{StatementTimeout: timeout}); err != nil {
		t.Fatal(err)
	}
	bouncer, err := url.Parse(db.PgBouncer(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	q := bouncer.Query()
	q.Set("default_query_exec_mode", "exec")
	bouncer.RawQuery = q.Encode()

	// The owner holds a lock on tenants until the test ends.
	lock, err := db.OwnerPool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.Background())
	if _, err := lock.Exec(ctx, `LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	for name, connURL := range map[string]string{"direct": db.AppURL, "pgbouncer": bouncer.String()} {
		t.Run(name, func(t *testing.T) {
			pool := db.Pool(t, connURL, nil)
			if got, err := database.StatementTimeout(ctx, pool); err != nil || got != timeout {
				t.Fatalf("StatementTimeout = %s, %v; want %s", got, err, timeout)
			}
			start := time.Now()
			_, err := pool.Exec(ctx, `SELECT count(*) FROM tenants`)
			elapsed := time.Since(start)
			if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "57014" {
				t.Fatalf("statement behind a lock: %v after %s; want query_canceled (57014)", err, elapsed)
			}
			if elapsed > timeout+2*time.Second {
				t.Errorf("the statement was stopped after %s, timeout %s", elapsed, timeout)
			}
			if !database.Unavailable(err) {
				t.Errorf("Unavailable(%v) = false", err)
			}
		})
	}
}

// TestConnectTimeout: a server that accepts TCP connections and never
// answers does not hold the pool, or the owner's connection, longer than
// DATABASE_CONNECT_TIMEOUT.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 64) // held open, silent, until the test ends
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	}()
	silent := "postgres://app@" + ln.Addr().String() + "/app?sslmode=disable&connect_timeout=5"
	cfg, err := config.Load([]string{"DATABASE_URL=" + silent, "MIGRATE_DATABASE_URL=" + silent, "DATABASE_CONNECT_TIMEOUT=200ms"})
	if err != nil {
		t.Fatal(err)
	}

	pc, err := database.PoolConfig(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.Open(t.Context(), pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	start := time.Now()
	if err := pool.Ping(t.Context()); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("Ping of a silent server: %v after %s; want an error within about 200ms", err, time.Since(start))
	} else if !database.Unavailable(err) {
		t.Errorf("Unavailable(%v) = false", err)
	}

	owner, err := database.OwnerConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if conn, err := pgx.ConnectConfig(t.Context(), owner); err == nil || time.Since(start) > 2*time.Second {
		if conn != nil {
			conn.Close(t.Context())
		}
		t.Errorf("owner connection to a silent server: %v after %s; want an error within about 200ms", err, time.Since(start))
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()

	_, syntax := db.AppPool.Exec(ctx, `SELEC 1`)
	_, nul := db.AppPool.Exec(ctx, `SELECT $1::text`, "a\x00b")
	closed := db.Pool(t, db.AppURL, nil)
	closed.Close()
	_, closedErr := closed.Exec(ctx, `SELECT 1`)
	nowhere := db.Pool(t, "postgres://app@127.0.0.1:1/app?sslmode=disable", func(c *pgxpool.Config) { c.ConnConfig.ConnectTimeout = time.Second })
	_, refused := nowhere.Exec(ctx, `SELECT 1`)

	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"syntax error", syntax, false},
		{"NUL in text", nul, false},
		{"closed pool", closedErr, true},
		{"connection refused", refused, true},
	} {
		if tc.err == nil && tc.name != "nil" {
			t.Errorf("%s: no error to classify", tc.name)
			continue
		}
		if got := database.Unavailable(tc.err); got != tc.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
