package database_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"example.com/minimal/internal/platform/database"
	"example.com/minimal/internal/platform/database/dbtest"
)

func TestMergeMigrationsRefusesDuplicateVersions(t *testing.T) {
	orders := fstest.MapFS{"00001_create_orders.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}
	_, err := database.MergeMigrations(database.PlatformMigrations(), database.MigrationSource{Name: "orders", FS: orders})
	if err == nil {
		t.Fatal("MergeMigrations accepted two migrations with version 1")
	}
	for _, want := range []string{"duplicate migration version 1", "platform: 00001_create_tenants.sql", "orders: 00001_create_orders.sql"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMergeMigrationsCombinesSources(t *testing.T) {
	orders := fstest.MapFS{
		"01000_create_orders.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")},
		"README.md":               {Data: []byte("not a migration")},
	}
	merged, err := database.MergeMigrations(database.PlatformMigrations(), database.MigrationSource{Name: "orders", FS: orders})
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(merged, "00001_create_tenants.sql", "01000_create_orders.sql"); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	orders := fstest.MapFS{"01000_create_widgets.sql": {Data: []byte(`-- +goose Up
CREATE TABLE widgets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES tenants (id));
CREATE INDEX widgets_tenant_id_idx ON widgets (tenant_id);
-- +goose Down
DROP TABLE widgets;
`)}}
	db := dbtest.New(t, orders)
	ctx := context.Background()

	merged, err := database.MergeMigrations(database.PlatformMigrations(), database.MigrationSource{Name: "orders", FS: orders})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.ParseConfig(db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	m, err := database.NewMigrator(owner, merged, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	platformFiles, err := fs.Glob(database.PlatformMigrations().FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	all := assertTables(t, db.OwnerPool, append(platformTables, "widgets")...)
	if _, err := m.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	assertTables(t, db.OwnerPool)
	res, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(platformFiles)+1 {
		t.Fatalf("second up applied %d migrations, want %d", len(res), len(platformFiles)+1)
	}
	assertTables(t, db.OwnerPool, all...)

	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != "applied" {
			t.Errorf("migration %d is %s after up", s.Source.Version, s.State)
		}
	}

	// Tables created after the grants (the second up) are still usable by
	// the app role thanks to the default privileges.
	var tenantID string
	if err := db.OwnerPool.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ('a', 'A') RETURNING id").Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppPool.Exec(ctx, "INSERT INTO widgets (tenant_id) VALUES ($1)", tenantID); err != nil {
		t.Fatalf("app role cannot write a table created after the grants: %v", err)
	}
}

func TestAppRoleIsNotPrivileged(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()

	var user string
	var super, bypass, createRole, createDB bool
	err := db.AppPool.QueryRow(ctx, `SELECT current_user, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
		FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &bypass, &createRole, &createDB)
	if err != nil {
		t.Fatal(err)
	}
	if user != db.AppRole || super || bypass || createRole || createDB {
		t.Fatalf("app role %s: superuser=%v bypassrls=%v createrole=%v createdb=%v", user, super, bypass, createRole, createDB)
	}
	var owned int
	if err := db.OwnerPool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tableowner = $1", db.AppRole).Scan(&owned); err != nil {
		t.Fatal(err)
	}
	if owned != 0 {
		t.Fatalf("app role owns %d tables", owned)
	}
	if _, err := db.AppPool.Exec(ctx, "CREATE TABLE intruder (id int)"); err == nil {
		t.Fatal("app role may create tables")
	}
	if _, err := db.AppPool.Exec(ctx, "DELETE FROM "+database.VersionTable); err == nil {
		t.Fatal("app role may change the migration history")
	}
}

func TestEnsureAppRoleRefusesOwnerAndSuperuser(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()

	if err := database.EnsureAppRole(ctx, db.OwnerPool, db.OwnerURL, dbtest.RoleSettings); err == nil || !strings.Contains(err.Error(), "does not own the tables") {
		t.Fatalf("EnsureAppRole with the owner's URL: %v", err)
	}
	if _, err := db.OwnerPool.Exec(ctx, "ALTER ROLE "+pgx.Identifier{db.AppRole}.Sanitize()+" BYPASSRLS"); err != nil {
		t.Fatal(err)
	}
	if err := database.EnsureAppRole(ctx, db.OwnerPool, db.AppURL, dbtest.RoleSettings); err == nil || !strings.Contains(err.Error(), "BYPASSRLS") {
		t.Fatalf("EnsureAppRole with a BYPASSRLS role: %v", err)
	}
}

// platformTables are tables the platform migrations create (among others).
var platformTables = []string{"api_keys", "memberships", "tenant_slugs", "tenants", "users"}

// assertTables checks that the tables of the schema (without goose's) are
// want, or, when want is not all of them, include want; it returns them.
func assertTables(t *testing.T, q database.Querier, want ...string) []string {
	t.Helper()
	var got []string
	err := q.QueryRow(context.Background(), `SELECT coalesce(array_agg(tablename ORDER BY tablename), '{}')
		FROM pg_tables WHERE schemaname = current_schema() AND tablename <> $1`, database.VersionTable).Scan(&got)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Fatalf("tables = %v, want %v among them", got, want)
		}
	}
	if len(want) == 0 && len(got) > 0 {
		t.Fatalf("tables = %v, want none", got)
	}
	return got
}
