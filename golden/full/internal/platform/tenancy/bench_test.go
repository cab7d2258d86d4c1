package tenancy_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/platform/tenancy"
)

// The benchmarks compare a list-20 query scoped by row-level security with
// the same query filtered by hand on a table without RLS in effect (the owner
// bypasses it), from 16 connections in parallel:
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/platform/tenancy

const (
	benchConns = 16
	listQuery  = `SELECT id, label FROM probes ORDER BY id DESC LIMIT 20`
	plainQuery = `SELECT id, label FROM probes WHERE tenant_id = $1 ORDER BY id DESC LIMIT 20`
)

type probe struct {
	ID    int64
	Label string
}

func benchFixture(b *testing.B) (fixture, *pgxpool.Pool, *pgxpool.Pool) {
	f := newFixture(b, 10_000)
	size := func(c *pgxpool.Config) { c.MaxConns, c.MinConns = benchConns, benchConns }
	return f, f.db.Pool(b, f.db.AppURL, size), f.db.Pool(b, f.db.OwnerURL, size)
}

func runParallel(b *testing.B, query func(ctx context.Context, tenant uuid.UUID) ([]probe, error), tenant uuid.UUID) {
	b.SetParallelism(benchConns)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			got, err := query(ctx, tenant)
			if err != nil || len(got) != 20 {
				b.Errorf("got %d rows, %v", len(got), err)
				return
			}
		}
	})
}

// BenchmarkPlainQuery: one round trip, WHERE tenant_id = $1, no RLS.
func BenchmarkPlainQuery(b *testing.B) {
	f, _, owner := benchFixture(b)
	runParallel(b, func(ctx context.Context, tenant uuid.UUID) ([]probe, error) {
		rows, _ := owner.Query(ctx, plainQuery, tenant)
		return pgx.CollectRows(rows, pgx.RowToStructByPos[probe])
	}, f.a)
}

// BenchmarkTenantQuery: tenancy.Query, set_config and the query in one round
// trip, RLS in effect.
func BenchmarkTenantQuery(b *testing.B) {
	f, app, _ := benchFixture(b)
	runParallel(b, func(ctx context.Context, tenant uuid.UUID) ([]probe, error) {
		var got []probe
		err := tenancy.Query(ctx, app, tenant, func(rows pgx.Rows) error {
			var err error
			got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[probe])
			return err
		}, listQuery)
		return got, err
	}, f.a)
}

// BenchmarkTenantTx: tenancy.InTx, three round trips (BEGIN+set_config,
// the query, COMMIT), RLS in effect.
func BenchmarkTenantTx(b *testing.B) {
	f, app, _ := benchFixture(b)
	runParallel(b, func(ctx context.Context, tenant uuid.UUID) ([]probe, error) {
		var got []probe
		err := tenancy.InTx(ctx, app, tenant, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, listQuery)
			var err error
			got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[probe])
			return err
		})
		return got, err
	}, f.a)
}
