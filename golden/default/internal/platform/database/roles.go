package database

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is satisfied by *pgx.Conn, *pgxpool.Pool and pgx.Tx.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// EnsureAppRole makes the role named in appURL ready for the application:
// it creates the role when it is missing (LOGIN, with the URL's password,
// NOSUPERUSER, NOBYPASSRLS) and grants it data access to the current schema,
// including tables created later by the connected (owner) role. An existing
// role keeps its password; it is refused if it is the owner itself, a
// superuser or bypasses row-level security, since any of those would
// silently disable tenant isolation.
//
// conn must be connected as the schema owner, after the migrations ran.
func EnsureAppRole(ctx context.Context, conn Querier, appURL string) error {
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
	return GrantAppRole(ctx, conn, role)
}

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
// bookkeeping table.
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
	var hasVersionTable bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier{schema, VersionTable}.Sanitize()).Scan(&hasVersionTable); err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	if hasVersionTable {
		stmts = append(stmts, "REVOKE ALL ON TABLE "+pgx.Identifier{schema, VersionTable}.Sanitize()+" FROM "+r)
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
