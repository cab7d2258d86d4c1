package catalog_test

import (
	"slices"
	"testing"
	"testing/fstest"

	"shop/internal/platform/database/catalog"
	"shop/internal/platform/database/dbtest"
)

// badMigration breaks every rule once, next to a table that keeps them all.
var badMigration = fstest.MapFS{"00900_bad.sql": {Data: []byte(`
-- +goose Up
CREATE TABLE good (
    id        uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id)
);
CREATE INDEX good_tenant_idx ON good (tenant_id, id);
ALTER TABLE good ENABLE ROW LEVEL SECURITY;
ALTER TABLE good FORCE ROW LEVEL SECURITY;

-- A foreign key whose only index has its column second.
CREATE TABLE unindexed_fk (
    id      uuid PRIMARY KEY,
    good_id uuid NOT NULL REFERENCES good (id)
);
CREATE INDEX unindexed_fk_idx ON unindexed_fk (id, good_id);

-- RLS enabled but not forced: the owner would bypass it.
CREATE TABLE unforced (
    tenant_id uuid NOT NULL REFERENCES tenants (id)
);
CREATE INDEX unforced_tenant_idx ON unforced (tenant_id);
ALTER TABLE unforced ENABLE ROW LEVEL SECURITY;

-- No RLS at all, and tenant_id is not the leading index column.
CREATE TABLE unprotected (
    id        uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id)
);
CREATE INDEX unprotected_idx ON unprotected (id, tenant_id);

CREATE TABLE blobs (
    id   uuid PRIMARY KEY,
    data bytea
);
-- +goose Down
DROP TABLE blobs, unprotected, unforced, unindexed_fk, good;
`)}}

func TestCheckFindsEveryViolation(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t, badMigration)
	got, err := catalog.Check(t.Context(), db.OwnerPool)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ table, rule string }
	var keys []key
	for _, v := range got {
		keys = append(keys, key{v.Table, v.Rule})
	}
	want := []key{
		{"unindexed_fk", catalog.RuleForeignKeyIndex},
		{"unprotected", catalog.RuleForeignKeyIndex},
		{"unforced", catalog.RuleRLSForced},
		{"unprotected", catalog.RuleRLSEnabled},
		{"unprotected", catalog.RuleRLSForced},
		{"unprotected", catalog.RuleTenantIndex},
		{"blobs", catalog.RuleNoBytea},
	}
	for _, w := range want {
		if !slices.Contains(keys, w) {
			t.Errorf("missing violation %s: %s", w.table, w.rule)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d violations, want %d:\n%v", len(got), len(want), got)
	}
}

func TestPlatformSchemaIsClean(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	got, err := catalog.Check(t.Context(), db.OwnerPool)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range got {
		t.Error(v)
	}
}
