// Package dbtest gives tests a real, private PostgreSQL database.
//
// New creates a uniquely named database on the server of TEST_DATABASE_URL,
// migrates it as the owner (the TEST_DATABASE_URL role), creates a unique
// application role exactly as `migrate up` does (not owner, NOSUPERUSER,
// NOBYPASSRLS, with RoleSettings) and drops both when the test ends.
// Packages and tests can run in parallel: nothing is shared between two
// calls.
//
// Without TEST_DATABASE_URL the test is skipped, unless
// TEST_REQUIRE_SERVICES=1, in which case it fails.
package dbtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/platform/database"
)

// RoleSettings are the settings New gives the app role: those of the
// default configuration (DATABASE_STATEMENT_TIMEOUT=15s).
var RoleSettings = database.RoleSettings{StatementTimeout: 15 * time.Second}

// DB is a migrated, private test database.
type DB struct {
	// Name is the database name.
	Name string
	// OwnerURL connects as the owner of the schema (a superuser here).
	OwnerURL string
	// AppURL connects as the application role, as DATABASE_URL does.
	AppURL string
	// AppRole is the name of the application role.
	AppRole string
	// OwnerPool connects as the owner; use it to arrange test data that
	// row-level security would hide.
	OwnerPool *pgxpool.Pool
	// AppPool connects as the application role.
	AppPool *pgxpool.Pool
}

// URL returns TEST_DATABASE_URL, skipping (or failing, under
// TEST_REQUIRE_SERVICES=1) the test when it is unset.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u != "" {
		return u
	}
	const msg = "TEST_DATABASE_URL not set: run `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test ./...`"
	if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + " (TEST_REQUIRE_SERVICES=1 turns this skip into a failure)")
	}
	t.Skip(msg)
	return ""
}

// New creates a database migrated with the platform migrations followed by
// the given module migrations (each a file system of goose SQL files at its
// root, like module.Definition.Migrations).
func New(t testing.TB, migrations ...fs.FS) *DB {
	t.Helper()
	base := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("dbtest: connect to TEST_DATABASE_URL: %v", err)
	}
	defer closeConn(ctx, t, admin)

	suffix := strings.ToLower(rand.Text())
	db := &DB{Name: "test_" + suffix, AppRole: "test_app_" + suffix}
	password := "pw_" + suffix

	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db.Name}.Sanitize()+" TEMPLATE template0"); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() { drop(t, base, db) })

	db.OwnerURL = withDatabase(t, base, db.Name, nil)
	db.AppURL = withDatabase(t, base, db.Name, url.UserPassword(db.AppRole, password))

	var sources []database.MigrationSource
	for i, m := range migrations {
		sources = append(sources, database.MigrationSource{Name: fmt.Sprintf("migrations[%d]", i), FS: m})
	}
	merged, err := database.MergeMigrations(sources...)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	owner, err := pgx.ParseConfig(db.OwnerURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	migrator, err := database.NewMigrator(owner, merged, nil)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	_, err = migrator.Up(ctx)
	if cerr := migrator.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}

	db.OwnerPool = db.Pool(t, db.OwnerURL, nil)
	if err := database.EnsureAppRole(ctx, db.OwnerPool, db.AppURL, RoleSettings); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	db.AppPool = db.Pool(t, db.AppURL, nil)
	return db
}

// Pool opens an extra pool on connURL (usually db.AppURL), closed when the
// test ends. configure, if not nil, may change the pool configuration, for
// example MaxConns or ConnConfig.Tracer.
func (db *DB) Pool(t testing.TB, connURL string, configure func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	pc, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if configure != nil {
		configure(pc)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), pc)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func drop(t testing.TB, base string, db *DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Errorf("dbtest: drop %s: %v", db.Name, err)
		return
	}
	defer closeConn(ctx, t, admin)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("dbtest: drop database %s: %v", db.Name, err)
	}
	if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{db.AppRole}.Sanitize()); err != nil {
		t.Errorf("dbtest: drop role %s: %v", db.AppRole, err)
	}
}

// closeConn closes an administrative connection, reporting a failure as a
// test error.
func closeConn(ctx context.Context, t testing.TB, conn *pgx.Conn) {
	t.Helper()
	if err := conn.Close(ctx); err != nil {
		t.Errorf("dbtest: close connection: %v", err)
	}
}

func withDatabase(t testing.TB, base, name string, user *url.Userinfo) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("dbtest: TEST_DATABASE_URL must be a postgres:// URL, got %q", base)
	}
	u.Path = "/" + name
	if user != nil {
		u.User = user
	}
	return u.String()
}
