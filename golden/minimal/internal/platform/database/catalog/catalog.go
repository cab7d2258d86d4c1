// Package catalog checks the database schema against the project's rules,
// reading PostgreSQL's system catalog:
//
//   - every foreign key has an index whose leading columns are its columns,
//     so deletes of the parent and joins to the child do not scan the table;
//   - every table with a tenant_id column, except PlatformTables, has
//     row-level security enabled and forced, and an index led by tenant_id;
//   - no column is bytea: files belong in object storage.
package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Rules checked by Check.
const (
	RuleForeignKeyIndex = "foreign key without a covering index"
	RuleRLSEnabled      = "tenant table without row-level security enabled"
	RuleRLSForced       = "tenant table without row-level security forced"
	RuleTenantIndex     = "tenant table without an index led by tenant_id"
	RuleNoBytea         = "bytea column"
)

// PlatformTables have a tenant_id column but are not tenant-owned: the
// platform reads them across tenants, before the tenant of a request is
// known (tenant_slugs maps every slug to its tenant), so they have no
// row-level security, and the app role may only read them
// (database.ReadOnlyTables). Keep this list short and reviewed: a table
// listed here is not isolated by the database.
var PlatformTables = []string{"tenant_slugs"}

// Violation is one breach of a rule.
type Violation struct {
	Table  string
	Rule   string
	Detail string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s (%s)", v.Table, v.Rule, v.Detail)
}

// Querier runs a query. *pgx.Conn and *pgxpool.Pool satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const foreignKeysSQL = `
SELECT c.conrelid::regclass::text, c.conname || ' (' || (
           SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
           FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
       ) || ')'
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.connamespace = current_schema()::regnamespace
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = c.conrelid
        AND i.indpred IS NULL
        AND i.indnkeyatts >= cardinality(c.conkey)
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
  )
ORDER BY 1, 2`

const tenantTablesSQL = `
SELECT t.oid::regclass::text, t.relrowsecurity, t.relforcerowsecurity,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indpred IS NULL AND i.indkey[0] = a.attnum)
FROM pg_class t
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE t.relkind IN ('r', 'p')
  AND t.relnamespace = current_schema()::regnamespace
  AND NOT t.relname = ANY ($1)
ORDER BY 1`

const byteaSQL = `
SELECT t.oid::regclass::text, a.attname
FROM pg_attribute a
JOIN pg_class t ON t.oid = a.attrelid
WHERE a.atttypid = 'bytea'::regtype
  AND a.attnum > 0 AND NOT a.attisdropped
  AND t.relkind IN ('r', 'p', 'm')
  AND t.relnamespace = current_schema()::regnamespace
ORDER BY 1, 2`

// Check returns every violation in the current schema of the database q is
// connected to, in a stable order.
func Check(ctx context.Context, q Querier) ([]Violation, error) {
	var out []Violation

	rows, _ := q.Query(ctx, foreignKeysSQL)
	fks, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Violation, error) {
		v := Violation{Rule: RuleForeignKeyIndex}
		return v, row.Scan(&v.Table, &v.Detail)
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: foreign keys: %w", err)
	}
	out = append(out, fks...)

	rows, _ = q.Query(ctx, tenantTablesSQL, PlatformTables)
	type tenantTable struct {
		Name                   string
		Enabled, Forced, Index bool
	}
	tables, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tenantTable])
	if err != nil {
		return nil, fmt.Errorf("catalog: tenant tables: %w", err)
	}
	for _, t := range tables {
		if !t.Enabled {
			out = append(out, Violation{t.Name, RuleRLSEnabled, "ALTER TABLE " + t.Name + " ENABLE ROW LEVEL SECURITY"})
		}
		if !t.Forced {
			out = append(out, Violation{t.Name, RuleRLSForced, "ALTER TABLE " + t.Name + " FORCE ROW LEVEL SECURITY"})
		}
		if !t.Index {
			out = append(out, Violation{t.Name, RuleTenantIndex, "CREATE INDEX ON " + t.Name + " (tenant_id, ...)"})
		}
	}

	rows, _ = q.Query(ctx, byteaSQL)
	blobs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Violation, error) {
		v := Violation{Rule: RuleNoBytea}
		return v, row.Scan(&v.Table, &v.Detail)
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: bytea columns: %w", err)
	}
	for i := range blobs {
		blobs[i].Detail = "column " + blobs[i].Detail + ": store files in object storage"
	}
	return append(out, blobs...), nil
}
