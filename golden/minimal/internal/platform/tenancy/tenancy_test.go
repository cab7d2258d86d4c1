package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/minimal/internal/platform/database/dbtest"
	"example.com/minimal/internal/platform/tenancy"
)

// probes is a tenant-owned table shaped like every module table.
var probeMigration = fstest.MapFS{"00900_create_probes.sql": {Data: []byte(`
-- +goose Up
CREATE TABLE probes (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid   NOT NULL REFERENCES tenants (id),
    label     text   NOT NULL
);
CREATE INDEX probes_tenant_idx ON probes (tenant_id, id DESC);
ALTER TABLE probes ENABLE ROW LEVEL SECURITY;
ALTER TABLE probes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON probes
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);
-- +goose Down
DROP TABLE probes;
`)}}

type fixture struct {
	db   *dbtest.DB
	a, b uuid.UUID
}

// newFixture creates two tenants with rows labelled "a" and "b".
func newFixture(t testing.TB, rowsPerTenant int) fixture {
	t.Helper()
	db := dbtest.New(t, probeMigration)
	f := fixture{db: db, a: createTenant(t, db, "tenant-a"), b: createTenant(t, db, "tenant-b")}
	for _, tt := range []struct {
		id    uuid.UUID
		label string
	}{{f.a, "a"}, {f.b, "b"}} {
		_, err := db.OwnerPool.Exec(t.Context(),
			`INSERT INTO probes (tenant_id, label) SELECT $1, $2 FROM generate_series(1, $3)`,
			tt.id, tt.label, rowsPerTenant)
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func createTenant(t testing.TB, db *dbtest.DB, slug string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	err := db.OwnerPool.QueryRow(t.Context(),
		`INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, slug).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// target is a way of reaching the database as the application role.
type target struct {
	name string
	pool func(t *testing.T, f fixture, maxConns int32) *pgxpool.Pool
}

// targets covers a direct connection with the default exec mode and
// PgBouncer in transaction mode with both exec modes that work there.
var targets = []target{
	{"direct", func(t *testing.T, f fixture, maxConns int32) *pgxpool.Pool {
		return f.db.Pool(t, f.db.AppURL, func(c *pgxpool.Config) { c.MaxConns = maxConns })
	}},
	{"pgbouncer/exec", bouncerPool("exec")},
	{"pgbouncer/simple_protocol", bouncerPool("simple_protocol")},
}

func bouncerPool(mode string) func(t *testing.T, f fixture, maxConns int32) *pgxpool.Pool {
	return func(t *testing.T, f fixture, maxConns int32) *pgxpool.Pool {
		u, err := url.Parse(f.db.PgBouncer(t, 1))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("default_query_exec_mode", mode)
		u.RawQuery = q.Encode()
		return f.db.Pool(t, u.String(), func(c *pgxpool.Config) { c.MaxConns = maxConns })
	}
}

func labels(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]string, error) {
	rows, _ := q.Query(ctx, `SELECT DISTINCT label FROM probes ORDER BY label`)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func collectLabels(rows pgx.Rows) ([]string, error) { return pgx.CollectRows(rows, pgx.RowTo[string]) }

func TestQueryWithoutWhereSeesOnlyItsTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			pool := tg.pool(t, f, 4)
			ctx := t.Context()
			for tenant, want := range map[uuid.UUID]string{f.a: "a", f.b: "b"} {
				var got []string
				err := tenancy.InTx(ctx, pool, tenant, func(tx pgx.Tx) error {
					var err error
					got, err = labels(ctx, tx)
					return err
				})
				if err != nil || !slices.Equal(got, []string{want}) {
					t.Errorf("InTx(%s): labels %v, %v; want [%s]", want, got, err, want)
				}
				got = nil
				err = tenancy.Query(ctx, pool, tenant, func(rows pgx.Rows) error {
					var err error
					got, err = collectLabels(rows)
					return err
				}, `SELECT DISTINCT label FROM probes ORDER BY label`)
				if err != nil || !slices.Equal(got, []string{want}) {
					t.Errorf("Query(%s): labels %v, %v; want [%s]", want, got, err, want)
				}
			}
		})
	}
}

func TestWithoutTenantNothingIsVisibleOrWritable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			pool := tg.pool(t, f, 1)
			ctx := t.Context()
			// First on a fresh connection (app.tenant_id never set: NULL),
			// then after a tenant transaction (app.tenant_id reset to '').
			for _, when := range []string{"never set", "after a tenant transaction"} {
				got, err := labels(ctx, pool)
				if err != nil || len(got) != 0 {
					t.Errorf("%s: labels without tenant = %v, %v; want none and no error", when, got, err)
				}
				_, err = pool.Exec(ctx, `INSERT INTO probes (tenant_id, label) VALUES ($1, 'x')`, f.a)
				if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "42501" {
					t.Errorf("%s: insert without tenant: %v; want a row-level security violation (42501)", when, err)
				}
				if err := tenancy.InTx(ctx, pool, f.a, func(pgx.Tx) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestWritesAreCheckedAgainstTheTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	ctx := t.Context()
	err := tenancy.InTx(ctx, f.db.AppPool, f.a, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO probes (tenant_id, label) VALUES ($1, 'b')`, f.b)
		return err
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "42501" {
		t.Errorf("insert of tenant B's row as tenant A: %v; want 42501", err)
	}
	err = tenancy.InTx(ctx, f.db.AppPool, f.a, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE probes SET label = 'stolen'`)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("updated %d rows, want only tenant A's 1", tag.RowsAffected())
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	// The one-round-trip helpers are held to the same policy.
	err = tenancy.Query(ctx, f.db.AppPool, f.a, collectNothing, `INSERT INTO probes (tenant_id, label) VALUES ($1, 'b') RETURNING id`, f.b)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "42501" {
		t.Errorf("Query: insert of tenant B's row as tenant A: %v; want 42501", err)
	}
	tag, err := tenancy.Exec(ctx, f.db.AppPool, f.a, `UPDATE probes SET label = 'stolen again'`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Errorf("Exec: unfiltered UPDATE as tenant A touched %d rows, %v; want only tenant A's 1", tag.RowsAffected(), err)
	}
	var bLabel string
	if err := f.db.OwnerPool.QueryRow(ctx, `SELECT label FROM probes WHERE tenant_id = $1`, f.b).Scan(&bLabel); err != nil || bLabel != "b" {
		t.Errorf("tenant B's row is %q, %v after tenant A's unfiltered UPDATEs; want \"b\"", bLabel, err)
	}
}

// TestSingleStatementWriteIsAtomicAndLeavesNoTenant: a statement sent by
// Query or Exec runs in one implicit transaction with its set_config: a
// failing statement undoes itself, and the connection carries no tenant
// afterwards, whether the statement succeeded or not.
func TestSingleStatementWriteIsAtomicAndLeavesNoTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			pool := tg.pool(t, f, 1)
			ctx := t.Context()
			var id int64
			err := tenancy.Query(ctx, pool, f.a, func(rows pgx.Rows) error {
				var err error
				id, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int64])
				return err
			}, `INSERT INTO probes (tenant_id, label) VALUES ($1, 'kept') RETURNING id`, f.a)
			if err != nil {
				t.Fatal(err)
			}
			assertNoTenant(t, pool)
			// Two rows, the second violating NOT NULL: neither may stay.
			_, err = tenancy.Exec(ctx, pool, f.a, `INSERT INTO probes (tenant_id, label) VALUES ($1, 'undone'), ($1, NULL)`, f.a)
			if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "23502" {
				t.Fatalf("failing insert: %v; want a not-null violation (23502)", err)
			}
			assertNoTenant(t, pool)
			var kept, undone int
			if err := f.db.OwnerPool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE id = $1), count(*) FILTER (WHERE label = 'undone') FROM probes`, id).Scan(&kept, &undone); err != nil || kept != 1 || undone != 0 {
				t.Errorf("kept %d, undone %d, %v; want the committed row and none of the failed statement's", kept, undone, err)
			}
			if _, err := f.db.OwnerPool.Exec(ctx, `DELETE FROM probes`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNoTenantIsRefusedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	// A nil Batcher proves nothing is sent.
	if err := tenancy.InTx(t.Context(), nil, uuid.Nil, func(pgx.Tx) error { return nil }); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("InTx(uuid.Nil) = %v, want ErrNoTenant", err)
	}
	if err := tenancy.Query(t.Context(), nil, uuid.Nil, collectNothing, "SELECT 1"); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("Query(uuid.Nil) = %v, want ErrNoTenant", err)
	}
	if _, err := tenancy.Exec(t.Context(), nil, uuid.Nil, "SELECT 1"); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("Exec(uuid.Nil) = %v, want ErrNoTenant", err)
	}
}

func collectNothing(rows pgx.Rows) error { rows.Close(); return rows.Err() }

// TestPooledConnectionCarriesNoTenant alternates two tenants on one
// connection, with failures, rollbacks and panics in between, and checks
// after every step that the connection carries no tenant and that no step
// saw the other tenant's rows.
func TestPooledConnectionCarriesNoTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	errBoom := errors.New("boom")
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			pool := tg.pool(t, f, 1)
			ctx := t.Context()
			var firstPID uint32
			for i := range 200 {
				tenant, want := f.a, "a"
				if i%2 == 1 {
					tenant, want = f.b, "b"
				}
				var got []string
				var err error
				switch i % 5 {
				case 0, 1: // a read-only transaction
					err = tenancy.InTx(ctx, pool, tenant, func(tx pgx.Tx) error {
						got, err = labels(ctx, tx)
						return err
					})
				case 2: // the one-round-trip read
					err = tenancy.Query(ctx, pool, tenant, func(rows pgx.Rows) error {
						got, err = collectLabels(rows)
						return err
					}, `SELECT DISTINCT label FROM probes ORDER BY label`)
				case 3: // a write rolled back by an error
					err = tenancy.InTx(ctx, pool, tenant, func(tx pgx.Tx) error {
						if _, err := tx.Exec(ctx, `INSERT INTO probes (tenant_id, label) VALUES ($1, 'rolled back')`, tenant); err != nil {
							return err
						}
						got, err = labels(ctx, tx)
						if err != nil {
							return err
						}
						return errBoom
					})
					if !errors.Is(err, errBoom) {
						t.Fatalf("iteration %d: InTx returned %v, want fn's error", i, err)
					}
					got = slices.DeleteFunc(got, func(s string) bool { return s == "rolled back" })
					err = nil
				case 4: // a failing statement, then a panic
					err = tenancy.InTx(ctx, pool, tenant, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, `SELECT 1/0`)
						return err
					})
					if err == nil {
						t.Fatalf("iteration %d: division by zero succeeded", i)
					}
					func() {
						defer func() { _ = recover() }()
						_ = tenancy.InTx(ctx, pool, tenant, func(tx pgx.Tx) error {
							got, err = labels(ctx, tx)
							panic("fn panicked")
						})
					}()
				}
				if err != nil {
					t.Fatalf("iteration %d: %v", i, err)
				}
				if !slices.Equal(got, []string{want}) {
					t.Fatalf("iteration %d as tenant %s: saw labels %v", i, want, got)
				}

				var setting string
				var pid uint32
				err = pool.QueryRow(ctx, `SELECT coalesce(current_setting('app.tenant_id', true), ''), pg_backend_pid()`).Scan(&setting, &pid)
				if err != nil {
					t.Fatalf("iteration %d: %v", i, err)
				}
				if setting != "" {
					t.Fatalf("iteration %d: connection still carries app.tenant_id=%q after the transaction", i, setting)
				}
				if i == 0 {
					firstPID = pid
				} else if pid != firstPID {
					t.Fatalf("iteration %d: server connection changed (pid %d, then %d): the test must reuse one", i, firstPID, pid)
				}
			}
			var rolledBack int
			if err := f.db.OwnerPool.QueryRow(ctx, `SELECT count(*) FROM probes WHERE label = 'rolled back'`).Scan(&rolledBack); err != nil || rolledBack != 0 {
				t.Errorf("%d rolled-back rows persisted (%v)", rolledBack, err)
			}
		})
	}
}

// assertNoTenant checks the pool's connection carries no tenant setting.
func assertNoTenant(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var setting string
	if err := pool.QueryRow(t.Context(), `SELECT coalesce(current_setting('app.tenant_id', true), '')`).Scan(&setting); err != nil || setting != "" {
		t.Errorf("app.tenant_id = %q, %v after the statement; want it unset", setting, err)
	}
}
