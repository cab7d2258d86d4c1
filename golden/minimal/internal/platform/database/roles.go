package database

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is satisfied by *pgx.Conn, *pgxpool.Pool and pgx.Tx.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// RoleSettings are the session defaults of the app role in the current
// database. EnsureAppRole sets them on the role (ALTER ROLE ... IN DATABASE
// ... SET), so PostgreSQL applies them to every session of the role, whether
// it connects directly or through PgBouncer in transaction mode, which
// refuses such settings as startup parameters.
type RoleSettings struct {
	// StatementTimeout bounds every statement of the role, lock waits
	// included (DATABASE_STATEMENT_TIMEOUT). At least a millisecond.
	StatementTimeout time.Duration
}

// EnsureAppRole makes the role named in appURL ready for the application:
// it creates the role when it is missing (LOGIN, with the URL's password,
// NOSUPERUSER, NOBYPASSRLS), grants it data access to the current schema,
// including tables created later by the connected (owner) role, except
// writes to ReadOnlyTables, and applies settings. An existing role keeps its
// password; it is refused if it is the owner itself, a superuser or
// bypasses row-level security, since any of those would silently disable
// tenant isolation.
//
// conn must be connected as the schema owner, after the migrations ran. The
// owner needs CREATEROLE (with ADMIN OPTION on an existing role it did not
// create) to create the role and change its settings.
func EnsureAppRole(ctx context.Context, conn Querier, appURL string, settings RoleSettings) error {
	cc, err := pgconn.ParseConfig(appURL)
	if err != nil {
		return fmt.Errorf("app role: parse DATABASE_URL: %w", err)
	}
	role := cc.User
	if role == "" {
		return errors.New("app role: DATABASE_URL names no user")
	}

	var owner string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&owner); err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	if role == owner {
		return fmt.Errorf("app role: DATABASE_URL and MIGRATE_DATABASE_URL both use role %q; the application must connect as a role that does not own the tables, or row-level security does not apply", role)
	}

	var super, bypass bool
	err = conn.QueryRow(ctx, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role).Scan(&super, &bypass)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if err := createRole(ctx, conn, role, cc.Password); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("app role: look up %q: %w", role, err)
	case super || bypass:
		return fmt.Errorf("app role: role %q is a superuser or has BYPASSRLS; use a role without them (ALTER ROLE %s NOSUPERUSER NOBYPASSRLS)", role, pgx.Identifier{role}.Sanitize())
	}
	if err := GrantAppRole(ctx, conn, role); err != nil {
		return err
	}
	return applySettings(ctx, conn, role, settings)
}

func applySettings(ctx context.Context, conn Querier, role string, settings RoleSettings) error {
	ms := settings.StatementTimeout.Milliseconds()
	if ms < 1 {
		return fmt.Errorf("app role: statement timeout %s is below PostgreSQL's unit of 1ms", settings.StatementTimeout)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	stmt := "ALTER ROLE " + pgx.Identifier{role}.Sanitize() + " IN DATABASE " + pgx.Identifier{db}.Sanitize() +
		" SET statement_timeout = " + strconv.FormatInt(ms, 10)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("app role: %s: %w (the owner needs CREATEROLE and ADMIN OPTION on the role; or have a superuser run it)", stmt, err)
	}
	return nil
}

// ReadOnlyTables are the platform tables the app role may read but never
// change: tenants are created and renamed only by the operator commands
// (`tenants create|rename`), which connect as the owner, so no module can
// repoint a tenant's slug.
var ReadOnlyTables = []string{"tenants", "tenant_slugs"}

func createRole(ctx context.Context, conn Querier, role, password string) error {
	stmt := "CREATE ROLE " + pgx.Identifier{role}.Sanitize() + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
	if password != "" {
		stmt += " PASSWORD " + quoteLiteral(password)
	}
	_, err := conn.Exec(ctx, stmt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" {
		return nil // created concurrently by another migrate run
	}
	if err != nil {
		return fmt.Errorf("app role: create %q: %w", role, err)
	}
	return nil
}

// GrantAppRole grants role data access (no DDL) to every table and sequence
// of the current schema, now and in the future, except the migration
// bookkeeping table (no access) and ReadOnlyTables (SELECT only).
func GrantAppRole(ctx context.Context, conn Querier, role string) error {
	var schema, db string
	if err := conn.QueryRow(ctx, "SELECT current_schema(), current_database()").Scan(&schema, &db); err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	r := pgx.Identifier{role}.Sanitize()
	s := pgx.Identifier{schema}.Sanitize()
	stmts := []string{
		"GRANT CONNECT ON DATABASE " + pgx.Identifier{db}.Sanitize() + " TO " + r,
		"GRANT USAGE ON SCHEMA " + s + " TO " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + r,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA " + s + " TO " + r,
		// The identity functions that cross tenants revoke PUBLIC's EXECUTE.
		"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA " + s + " TO " + r,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + r,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO " + r,
	}
	type revoke struct{ privileges, table string }
	revokes := []revoke{{"ALL", VersionTable}, {"ALL", PlatformVersionTable}}
	for _, t := range ReadOnlyTables {
		revokes = append(revokes, revoke{"INSERT, UPDATE, DELETE, TRUNCATE", t})
	}
	for _, rv := range revokes {
		name := pgx.Identifier{schema, rv.table}.Sanitize()
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil {
			return fmt.Errorf("app role: %w", err)
		}
		if exists {
			stmts = append(stmts, "REVOKE "+rv.privileges+" ON TABLE "+name+" FROM "+r)
		}
	}
	for _, stmt := range stmts {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("app role: %s: %w", stmt, err)
		}
	}
	return nil
}

func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
