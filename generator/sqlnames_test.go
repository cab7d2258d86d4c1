package generator_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/saasgen/saasgen/generator"
)

// TestSQLRefusedNames: every module name whose SQL would fail or collide is
// refused, with a message naming what it collides with.
func TestSQLRefusedNames(t *testing.T) {
	g := newGenerator()
	for _, c := range []struct {
		mods []string
		want string
	}{
		{[]string{"left"}, `module name "left" would not work in SQL: its identifier "left" is a PostgreSQL key word`},
		{[]string{"join"}, `"join" is a PostgreSQL key word`},
		{[]string{"inner"}, `"inner" is a PostgreSQL key word`},
		{[]string{"order"}, `"order" is a PostgreSQL key word`},
		{[]string{"window"}, `"window" is a PostgreSQL key word`},
		{[]string{"project", "projects"}, `module name "projects" would create the table or index "project_notes", which module "project" creates too`},
		{[]string{"projects", "project-notes"}, `module name "project-notes" would create the table or index "project_notes", which module "projects" creates too`},
		{[]string{"goose_db_version"}, `would create the relation "goose_db_version", which is goose's migration version table`},
		{[]string{"river_job"}, `the prefix river_ is reserved for River's job queue tables`},
		{[]string{"pg_stats"}, `the prefix pg_ is reserved for PostgreSQL's system catalogs`},
		{[]string{"sessions"}, `"sessions", which is the session store's table`},
		{[]string{"me"}, `would take the route /api/v1/me, which is the identity endpoints`},
		{[]string{"jobs"}, `would take the route /api/v1/jobs`},
		{[]string{"files"}, `would take the route /api/v1/files`},
		{[]string{"probes"}, `would create the relation "probes", which is a table of the platform (internal/platform/tenancy/tenancy_test.go)`},
		{[]string{"customer_subscription_plans"}, `is too long for SQL: its identifier "customer_subscription_plan_notes_tenant_customer_subscription_plan_idx" would be 70 bytes, and PostgreSQL keeps 63`},
	} {
		err := g.ValidateModuleList(c.mods)
		if !generator.IsInputError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateModuleList(%q) = %v, want an *InputError containing %q", c.mods, err, c.want)
		}
	}
}

// awkwardNames are accepted module names that are PostgreSQL key words of
// the categories that can name a table (C: between, values, position,
// national, setof; U: text, abort), or type names: the end-to-end test
// applies their migrations and runs their tests against the real server.
var awkwardNames = []string{"between", "values", "position", "setof", "text", "abort"}

func TestAwkwardNamesAccepted(t *testing.T) {
	if err := newGenerator().ValidateModuleList(awkwardNames); err != nil {
		t.Fatalf("awkward but valid names refused: %v", err)
	}
}

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	requireServices(t)
	conn, err := pgx.Connect(context.Background(), os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestKeywordsMatchServer compares the refused key words with the real
// server's pg_get_keywords(): every key word of the refused categories (R,
// T) is in the list, and the categories are the right ones: each refused
// word fails as a table name, each word of the accepted categories (C, U)
// works as one, indexed and under row-level security as the templates use
// it.
func TestKeywordsMatchServer(t *testing.T) {
	conn := connect(t)
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT word, catcode FROM pg_get_keywords()`)
	if err != nil {
		t.Fatal(err)
	}
	server := map[string]string{}
	for rows.Next() {
		var word, cat string
		if err := rows.Scan(&word, &cat); err != nil {
			t.Fatal(err)
		}
		server[word] = cat
	}
	if rows.Err() != nil || len(server) < 400 {
		t.Fatalf("pg_get_keywords(): %d words, %v", len(server), rows.Err())
	}
	for word, cat := range server {
		refused := generator.PGKeywords[word]
		if (cat == "R" || cat == "T") != refused {
			t.Errorf("key word %q (category %s): refused = %v", word, cat, refused)
		}
		// The server is the judge of the categories.
		_, err := conn.Exec(ctx, `BEGIN; CREATE TABLE `+word+` (id int, tenant_id int); CREATE INDEX `+word+`_idx ON `+word+` (tenant_id); ALTER TABLE `+word+` ENABLE ROW LEVEL SECURITY; SELECT count(*) FROM `+word+`; ROLLBACK`)
		if refused != (err != nil) {
			t.Errorf("CREATE TABLE %s (category %s): %v; refused = %v", word, cat, err, refused)
		}
		if err != nil {
			conn.Exec(ctx, `ROLLBACK`)
		}
	}
	for word := range generator.PGKeywords {
		if _, ok := server[word]; !ok && word != "system_user" { // reserved from PostgreSQL 16 on
			t.Errorf("%q is refused but is no key word of this server", word)
		}
	}
}

// TestEndToEndAwkwardNames generates a project whose modules have awkward
// names and runs their tests and the catalog tests, which apply every
// migration, against the real PostgreSQL.
func TestEndToEndAwkwardNames(t *testing.T) {
	requireServices(t)
	opts := generator.DefaultOptions()
	opts.Name = "awkward"
	opts.Module = "example.com/awkward"
	opts.Modules = awkwardNames
	opts.Dir = filepath.Join(t.TempDir(), "awkward")
	opts.SkipVerify, opts.NoGit = true, true
	if _, err := newGenerator().New(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	out := goCmd(t, opts.Dir, "test", "-count=1", "./internal/modules/...", "./internal/app/", "./internal/platform/database/...")
	for _, m := range awkwardNames {
		if !strings.Contains(out, "ok  \texample.com/awkward/internal/modules/"+m) {
			t.Errorf("module %s: tests did not pass:\n%s", m, out)
		}
	}
}

// TestRefusedSQLNameFailsMigrations proves the refused side: a project
// rendered anyway with the module "left" fails its tests against the real
// server, on the migration.
func TestRefusedSQLNameFailsMigrations(t *testing.T) {
	requireServices(t)
	dir := filepath.Join(t.TempDir(), "clash")
	renderUnchecked(t, dir, "left")
	cmd := exec.Command("go", "test", "-count=1", "./internal/modules/left/")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "syntax error at or near \"left\"") {
		t.Fatalf("the tests of module left: %v, want a failed migration:\n%s", err, out)
	}
}
