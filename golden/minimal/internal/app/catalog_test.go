package app

import (
	"io/fs"
	"strings"
	"testing"

	"example.com/minimal/internal/platform/database/catalog"
	"example.com/minimal/internal/platform/database/dbtest"
	"example.com/minimal/internal/platform/jobs/jobstest"
)

// TestCatalog migrates a database with the platform, every installed
// module and the job queue, as `migrate up` does, and checks the schema rules of package
// catalog: indexed foreign keys, forced row-level security and a
// tenant-leading index on every tenant table, no bytea.
func TestCatalog(t *testing.T) {
	t.Parallel()
	var migrations []fs.FS
	for _, m := range installedModules() {
		if m.Migrations != nil {
			migrations = append(migrations, m.Migrations)
		}
	}
	db := dbtest.New(t, migrations...)
	jobstest.MigrateBackend(t, db) // the queue's own tables, as migrate up creates them

	// Guard against a vacuous pass: the modules' tables must be there.
	var tenantTables int
	err := db.OwnerPool.QueryRow(t.Context(), `
		SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'tenant_id'`).Scan(&tenantTables)
	if err != nil {
		t.Fatal(err)
	}
	if tenantTables < len(migrations) {
		t.Fatalf("found %d tables with tenant_id for %d modules with migrations", tenantTables, len(migrations))
	}

	violations, err := catalog.Check(t.Context(), db.OwnerPool)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		// River's unique_key is a hash of a unique job's arguments, not a file.
		if v.Table == "river_job" && v.Rule == catalog.RuleNoBytea && strings.HasPrefix(v.Detail, "column unique_key:") {
			continue
		}
		t.Error(v)
	}
}
