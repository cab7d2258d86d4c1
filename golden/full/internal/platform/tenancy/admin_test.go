package tenancy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/acme/acme/internal/platform/database/dbtest"
	"github.com/acme/acme/internal/platform/tenancy"
)

// TestDatabaseEnforcesSlugFormat: the tenants table accepts exactly the
// slugs ValidSlug accepts, so no tenant can exist that the resolver could
// never find.
func TestDatabaseEnforcesSlugFormat(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	for _, slug := range []string{
		"a", "acme", "acme-2", "0", "9lives", "a-b-c", strings.Repeat("x", 63),
		"", "-acme", "acme-", "Acme", "ACME", "ac me", "ac_me", "acmé", "ac.me", "acme\n", "\nacme",
		strings.Repeat("x", 64), "a\x00b", "xn--caf-dma", "a--b",
	} {
		_, err := db.OwnerPool.Exec(t.Context(), `INSERT INTO tenants (slug, name) VALUES ($1, 'Name')`, slug)
		if inDB := err == nil; inDB != tenancy.ValidSlug(slug) {
			t.Errorf("slug %q: ValidSlug %v, the database %v (%v)", slug, tenancy.ValidSlug(slug), inDB, err)
		}
		if (tenancy.CheckSlug(slug) == nil) != tenancy.ValidSlug(slug) {
			t.Errorf("slug %q: CheckSlug and ValidSlug disagree", slug)
		}
	}
}

func TestCreateRenameList(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	acme, err := tenancy.CreateTenant(ctx, db.OwnerPool, "acme", "Acme Inc.")
	if err != nil || acme.Slug != "acme" || acme.Name != "Acme Inc." {
		t.Fatalf("CreateTenant = %+v, %v", acme, err)
	}
	if _, err := tenancy.CreateTenant(ctx, db.OwnerPool, "acme", "Other"); !errors.Is(err, tenancy.ErrSlugTaken) {
		t.Errorf("CreateTenant with a taken slug: %v, want ErrSlugTaken", err)
	}
	for _, tc := range []struct{ slug, name string }{
		{"Bad Slug", "Name"}, {"ok", ""}, {"ok", "   "}, {"ok", "a\x00b"}, {"ok", strings.Repeat("n", tenancy.MaxNameLength+1)},
	} {
		_, err := tenancy.CreateTenant(ctx, db.OwnerPool, tc.slug, tc.name)
		if err == nil || errors.Is(err, tenancy.ErrSlugTaken) {
			t.Errorf("CreateTenant(%q, %q) = %v, want a validation error", tc.slug, tc.name, err)
		}
		if _, ok := errors.AsType[*pgconn.PgError](err); ok {
			t.Errorf("CreateTenant(%q, %q) reached the database: %v", tc.slug, tc.name, err)
		}
	}
	if _, err := tenancy.CreateTenant(ctx, db.OwnerPool, "globex", "Globex"); err != nil {
		t.Fatal(err)
	}
	renamed, err := tenancy.RenameTenant(ctx, db.OwnerPool, "acme", "acme-corp")
	if err != nil || renamed.ID != acme.ID || renamed.Slug != "acme-corp" {
		t.Fatalf("RenameTenant = %+v, %v", renamed, err)
	}
	if _, err := tenancy.RenameTenant(ctx, db.OwnerPool, "acme", "acme-again"); !errors.Is(err, tenancy.ErrUnknownTenant) {
		t.Errorf("RenameTenant by a former slug: %v, want ErrUnknownTenant (only current slugs are renamed)", err)
	}
	if _, err := tenancy.RenameTenant(ctx, db.OwnerPool, "globex", "acme-corp"); !errors.Is(err, tenancy.ErrSlugTaken) {
		t.Errorf("RenameTenant to a current slug: %v, want ErrSlugTaken", err)
	}

	records, err := tenancy.ListTenants(ctx, db.OwnerPool)
	if err != nil || len(records) != 2 {
		t.Fatalf("ListTenants = %+v, %v", records, err)
	}
	if r := records[0]; r.ID != acme.ID || r.Slug != "acme-corp" || !slices.Equal(r.FormerSlugs, []string{"acme"}) || r.CreatedAt.IsZero() {
		t.Errorf("first record %+v, want acme-corp formerly acme", r)
	}
	if r := records[1]; r.Slug != "globex" || len(r.FormerSlugs) != 0 {
		t.Errorf("second record %+v, want globex with no former slugs", r)
	}
}
