package database_test

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"shop/internal/platform/database"
	"shop/internal/platform/database/dbtest"
)

func TestMergeMigrationsRefusesDuplicateVersions(t *testing.T) {
	billing := fstest.MapFS{"00001_create_invoices.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}
	orders := fstest.MapFS{"00001_create_orders.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}
	_, err := database.MergeMigrations(database.MigrationSource{Name: "billing", FS: billing}, database.MigrationSource{Name: "orders", FS: orders})
	if err == nil {
		t.Fatal("MergeMigrations accepted two migrations with version 1")
	}
	for _, want := range []string{"duplicate migration version 1", "billing: 00001_create_invoices.sql", "orders: 00001_create_orders.sql"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMergeMigrationsCombinesSources(t *testing.T) {
	billing := fstest.MapFS{"00001_create_invoices.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}
	orders := fstest.MapFS{
		"01000_create_orders.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")},
		"README.md":               {Data: []byte("not a migration")},
	}
	merged, err := database.MergeMigrations(database.MigrationSource{Name: "billing", FS: billing}, database.MigrationSource{Name: "orders", FS: orders})
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(merged, "00001_create_invoices.sql", "01000_create_orders.sql"); err != nil {
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

	merged, err := database.MergeMigrations(database.MigrationSource{Name: "orders", FS: orders})
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
	for _, table := range []string{database.VersionTable, database.PlatformVersionTable} {
		if _, err := db.AppPool.Exec(ctx, "DELETE FROM "+table); err == nil {
			t.Fatalf("app role may change the migration history in %s", table)
		}
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
		FROM pg_tables WHERE schemaname = current_schema() AND tablename <> ALL($1)`, []string{database.VersionTable, database.PlatformVersionTable}).Scan(&got)
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

// widgetsV2 is a module migration of the legacy numbering (the platform's
// tenants migration was version 1 of the one sequence); widgetsV3 one that
// an upgrade brought.
var (
	widgetsV2 = []byte(`-- +goose Up
CREATE TABLE widgets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id uuid NOT NULL REFERENCES tenants (id));
CREATE INDEX widgets_tenant_id_idx ON widgets (tenant_id);
-- +goose Down
DROP TABLE widgets;
`)
	widgetsV3 = []byte(`-- +goose Up
ALTER TABLE widgets ADD COLUMN colour text NOT NULL DEFAULT 'blue';
-- +goose Down
ALTER TABLE widgets DROP COLUMN colour;
`)
)

// legacyDatabase returns a database as a project generated before the
// platform had its own migration sequence left it: goose_db_version holds
// the platform's tenants migration as version 1 and a module's as version 2,
// and a tenant exists.
func legacyDatabase(t *testing.T) (*dbtest.DB, *pgx.ConnConfig) {
	t.Helper()
	ctx := context.Background()
	db := dbtest.New(t)
	owner, err := pgx.ParseConfig(db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	// Start from nothing.
	m, err := database.NewMigrator(owner, fstest.MapFS{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, err := db.OwnerPool.Exec(ctx, "DROP TABLE "+database.PlatformVersionTable); err != nil {
		t.Fatal(err)
	}
	// The legacy history: one sequence, the platform's first migration as
	// it was then (it has not changed since) and the module's after it.
	tenants, err := fs.ReadFile(database.PlatformMigrations().FS, "00001_create_tenants.sql")
	if err != nil {
		t.Fatal(err)
	}
	legacy := fstest.MapFS{"00001_create_tenants.sql": {Data: tenants}, "00002_create_widgets.sql": {Data: widgetsV2}}
	sqlDB := stdlib.OpenDB(*owner)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, legacy, goose.WithDisableGlobalRegistry(true), goose.WithTableName(database.VersionTable))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OwnerPool.Exec(ctx, "INSERT INTO tenants (slug, name) VALUES ('old', 'Old')"); err != nil {
		t.Fatal(err)
	}
	return db, owner
}

// TestLegacyDatabaseAdopted: migrate up on a database of the legacy
// numbering records the platform's first migration in the platform's
// sequence, applies the platform's later ones and the module's new one,
// once; a second migrate up does nothing.
func TestLegacyDatabaseAdopted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, owner := legacyDatabase(t)
	modules := fstest.MapFS{"00002_create_widgets.sql": {Data: widgetsV2}, "00003_colour_widgets.sql": {Data: widgetsV3}}
	m, err := database.NewMigrator(owner, modules, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	platformFiles, err := fs.Glob(database.PlatformMigrations().FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, r := range res {
		applied = append(applied, r.Source.Path)
	}
	if want := len(platformFiles) - 1 + 1; len(res) != want || slices.Contains(applied, "00001_create_tenants.sql") || slices.Contains(applied, "00002_create_widgets.sql") {
		t.Fatalf("migrate up applied %v, want the platform's migrations after the first and 00003_colour_widgets.sql", applied)
	}
	var slugs, colours int
	if err := db.OwnerPool.QueryRow(ctx, "SELECT count(*) FROM tenant_slugs WHERE slug = 'old'").Scan(&slugs); err != nil || slugs != 1 {
		t.Fatalf("the legacy tenant's slug is not recorded: %d, %v", slugs, err)
	}
	if err := db.OwnerPool.QueryRow(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'widgets' AND column_name = 'colour'").Scan(&colours); err != nil || colours != 1 {
		t.Fatalf("the module's new migration did not run: %v", err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != "applied" {
			t.Errorf("%s is %s after up", s.Source.Path, s.State)
		}
	}
	again, err := m.Up(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate up applied %d migrations: %v", len(again), err)
	}
}

// TestConcurrentMigrateUpOnLegacyDatabase: two migrate up at once on a
// legacy database: both succeed and every migration runs once.
func TestConcurrentMigrateUpOnLegacyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, owner := legacyDatabase(t)
	modules := fstest.MapFS{"00002_create_widgets.sql": {Data: widgetsV2}, "00003_colour_widgets.sql": {Data: widgetsV3}}
	results := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			m, err := database.NewMigrator(owner, modules, nil)
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			res, err := m.Up(ctx)
			results[i], errs[i] = len(res), err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	platformFiles, _ := fs.Glob(database.PlatformMigrations().FS, "*.sql")
	if total := results[0] + results[1]; total != len(platformFiles) {
		t.Fatalf("the two runs applied %v migrations, want %d in all", results, len(platformFiles))
	}
	var adopted int
	if err := db.OwnerPool.QueryRow(ctx, "SELECT count(*) FROM "+database.PlatformVersionTable+" WHERE version_id = 1").Scan(&adopted); err != nil || adopted != 1 {
		t.Fatalf("platform version 1 recorded %d times: %v", adopted, err)
	}
}
