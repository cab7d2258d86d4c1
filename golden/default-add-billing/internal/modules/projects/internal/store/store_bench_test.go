package store_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"shop/internal/modules/projects/internal/domain"
	"shop/internal/modules/projects/internal/store"
	"shop/internal/platform/database/dbtest"
)

// benchConns is the pool size and the number of goroutines of each
// benchmark.
const benchConns = 16

// BenchmarkList prices row-level security on the list statement: "rls" is
// Store.List as the application runs it (set_config and the statement in
// one batch, as the application role, under the tenant_isolation
// policies); "plain" is the same statement with WHERE tenant_id = $2 as
// the owner, whom the policies do not bind. Same data (two tenants of
// 1,000 rows with two notes each), same pool size, same scanning; the
// ratio of the two is the cost of enforcement.
func BenchmarkList(b *testing.B) {
	// The module's migrations, read from its directory: importing the
	// module's root package here would tie the store's tests to its name.
	db := dbtest.New(b, os.DirFS("../../migrations"))
	ctx := b.Context()
	var tenants []uuid.UUID
	for _, slug := range []string{"tenant-a", "tenant-b"} {
		var id uuid.UUID
		if err := db.OwnerPool.QueryRow(ctx, `INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, slug).Scan(&id); err != nil {
			b.Fatal(err)
		}
		tenants = append(tenants, id)
	}
	for _, seed := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO projects (tenant_id, name, created_at)
		  SELECT t, 'item ' || g, now() - g * interval '1 minute' FROM unnest($1::uuid[]) t, generate_series(1, 1000) g`, []any{tenants}},
		{`INSERT INTO project_notes (tenant_id, project_id, body)
		  SELECT i.tenant_id, i.id, 'note ' || k FROM projects i, generate_series(1, 2) k`, nil},
		{`ANALYZE`, nil},
	} {
		if _, err := db.OwnerPool.Exec(ctx, seed.sql, seed.args...); err != nil {
			b.Fatal(err)
		}
	}
	size := func(c *pgxpool.Config) { c.MaxConns, c.MinConns = benchConns, benchConns }
	rls := store.New(db.Pool(b, db.AppURL, size))
	owner := db.Pool(b, db.OwnerURL, size)
	tenant := tenants[0]
	list := map[string]func(context.Context) ([]domain.Project, error){
		"rls": func(ctx context.Context) ([]domain.Project, error) {
			items, _, err := rls.List(ctx, tenant, domain.DefaultPageSize, nil)
			return items, err
		},
		"plain": func(ctx context.Context) ([]domain.Project, error) {
			return store.PlainList(ctx, owner, tenant, domain.DefaultPageSize)
		},
	}
	// Both read the same page.
	want, err := list["rls"](ctx)
	if err != nil || len(want) != domain.DefaultPageSize {
		b.Fatalf("rls: %d items, %v", len(want), err)
	}
	if got, err := list["plain"](ctx); err != nil || !slices.EqualFunc(got, want, func(a, b domain.Project) bool {
		return a.ID == b.ID && len(a.Notes) == len(b.Notes)
	}) {
		b.Fatalf("plain reads another page than rls: %v", err)
	}
	for _, name := range []string{"rls", "plain"} {
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(benchConns)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if items, err := list[name](context.Background()); err != nil || len(items) != domain.DefaultPageSize {
						b.Errorf("%s: %d items, %v", name, len(items), err)
						return
					}
				}
			})
		})
	}
}
