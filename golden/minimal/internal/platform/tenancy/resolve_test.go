package tenancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/minimal/internal/platform/database/querycount"
	"example.com/minimal/internal/platform/httpx"
	"example.com/minimal/internal/platform/tenancy"
)

func TestSlugFromSubdomain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host, base, want string
	}{
		{"acme.example.com", "example.com", "acme"},
		{"acme.example.com:8443", "example.com", "acme"},
		{"acme.example.com:", "example.com", "acme"},
		{"ACME.Example.COM", "example.com", "acme"},
		{"acme.example.com", "EXAMPLE.com", "acme"},
		{"acme.example.com.", "example.com", "acme"},  // fully qualified
		{"acme.example.com", ".example.com.", "acme"}, // base written with dots
		{"tenant-7.api.example.com", "api.example.com", "tenant-7"},

		{"example.com", "example.com", ""}, // the bare base domain
		{"example.com:80", "example.com", ""},
		{".example.com", "example.com", ""},
		{"a.b.example.com", "example.com", ""}, // nested subdomain
		{"evilexample.com", "example.com", ""}, // look-alike domain
		{"acme.evilexample.com", "example.com", ""},
		{"acme.example.com.evil.org", "example.com", ""},
		{"acme.example.org", "example.com", ""},
		{"[::1]", "example.com", ""},
		{"[::1]:8080", "example.com", ""},
		{"::1", "example.com", ""},
		{"[2001:db8::1]:443", "example.com", ""},
		{"127.0.0.1:8080", "example.com", ""},
		{"", "example.com", ""},
		{":8080", "example.com", ""},
	} {
		if got := tenancy.SlugFromSubdomain(tc.host, tc.base); got != tc.want {
			t.Errorf("SlugFromSubdomain(%q, %q) = %q, want %q", tc.host, tc.base, got, tc.want)
		}
	}
}

// tenantEcho answers 200 with the slug and id of the request's tenant.
func tenantEcho(w http.ResponseWriter, r *http.Request) {
	t, ok := tenancy.Require(w, r)
	if !ok {
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"slug": t.Slug, "id": t.ID.String()})
}

func TestRequireWithoutMiddleware(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	tenantEcho(rec, httptest.NewRequest("GET", "/", nil))
	var eb httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || rec.Code != http.StatusBadRequest || eb.Error.Code != "tenant_required" {
		t.Fatalf("status %d body %s; want 400 tenant_required", rec.Code, rec.Body)
	}
}

// countedResolver returns a resolver whose database round trips are counted
// on the returned context, and a clock the test moves by hand.
func countedResolver(t *testing.T, f fixture, ttl time.Duration) (*tenancy.Resolver, context.Context, *querycount.Counter, *time.Time) {
	t.Helper()
	pool := f.db.Pool(t, f.db.AppURL, func(c *pgxpool.Config) { c.ConnConfig.Tracer = querycount.Tracer{} })
	r := tenancy.NewResolver(pool, ttl)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r.SetClock(func() time.Time { return now })
	c := new(querycount.Counter)
	return r, querycount.WithCounter(t.Context(), c), c, &now
}

// resolve resolves slug and returns the round trips it cost.
func resolve(t *testing.T, r *tenancy.Resolver, ctx context.Context, c *querycount.Counter, slug string) int {
	t.Helper()
	before := c.Count()
	got, err := r.BySlug(ctx, slug)
	if err != nil || got.Slug != slug {
		t.Fatalf("BySlug(%q) = %+v, %v", slug, got, err)
	}
	return c.Count() - before
}

func TestResolverCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	const ttl = 30 * time.Second
	r, ctx, c, now := countedResolver(t, f, ttl)

	if n := resolve(t, r, ctx, c, "tenant-a"); n != 1 {
		t.Fatalf("first lookup made %d round trips, want 1", n)
	}
	*now = now.Add(ttl - time.Second)
	if n := resolve(t, r, ctx, c, "tenant-a"); n != 0 {
		t.Fatalf("lookup within the TTL made %d round trips, want 0 (a cache hit)", n)
	}
	*now = now.Add(time.Second)
	if n := resolve(t, r, ctx, c, "tenant-a"); n != 1 {
		t.Fatalf("lookup at the TTL made %d round trips, want 1 (the entry expired)", n)
	}

	// A renamed tenant: the new slug resolves, and so does the old one, to
	// the same tenant, with its current slug once the entry expires.
	if _, err := tenancy.RenameTenant(t.Context(), f.db.OwnerPool, "tenant-a", "tenant-a2"); err != nil {
		t.Fatal(err)
	}
	if n := resolve(t, r, ctx, c, "tenant-a"); n != 0 {
		t.Fatalf("cached lookup made %d round trips", n)
	}
	*now = now.Add(ttl)
	for _, slug := range []string{"tenant-a", "tenant-a2"} {
		if got, err := r.BySlug(ctx, slug); err != nil || got.ID != f.a || got.Slug != "tenant-a2" {
			t.Fatalf("BySlug(%q) after the rename = %+v, %v; want tenant A as tenant-a2", slug, got, err)
		}
	}

	// Unknown slugs are cached for UnknownSlugTTL; malformed ones never
	// reach the database.
	before := c.Count()
	for range 3 {
		if _, err := r.BySlug(ctx, "nobody"); !errors.Is(err, tenancy.ErrUnknownTenant) {
			t.Fatalf("unknown slug: %v", err)
		}
		if _, err := r.BySlug(ctx, "Not A Slug"); !errors.Is(err, tenancy.ErrUnknownTenant) {
			t.Fatalf("malformed slug: %v", err)
		}
	}
	if n := c.Count() - before; n != 1 {
		t.Errorf("3 unknown and 3 malformed lookups made %d round trips, want 1", n)
	}
}

// TestNewTenantResolvesWithinUnknownSlugTTL: a slug looked up before its
// tenant existed is answered from the cache for at most UnknownSlugTTL, the
// bound `tenants create` announces; then the tenant resolves.
func TestNewTenantResolvesWithinUnknownSlugTTL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	r, ctx, c, now := countedResolver(t, f, time.Minute)
	if _, err := r.BySlug(ctx, "newcomer"); !errors.Is(err, tenancy.ErrUnknownTenant) {
		t.Fatalf("BySlug before the tenant exists: %v", err)
	}
	id := createTenant(t, f.db, "newcomer")
	*now = now.Add(tenancy.UnknownSlugTTL - time.Millisecond)
	before := c.Count()
	if _, err := r.BySlug(ctx, "newcomer"); !errors.Is(err, tenancy.ErrUnknownTenant) || c.Count() != before {
		t.Fatalf("within UnknownSlugTTL: %v after %d round trips; want the cached ErrUnknownTenant", err, c.Count()-before)
	}
	*now = now.Add(time.Millisecond)
	if got, err := r.BySlug(ctx, "newcomer"); err != nil || got.ID != id {
		t.Fatalf("after UnknownSlugTTL: %+v, %v; want the new tenant", got, err)
	}
}

// TestRetiredSlugNeverNamesAnotherTenant: once a tenant is renamed, its old
// slug can be given to no other tenant, however it is tried, so no cache
// anywhere can serve that slug with another tenant's rows. The old slug
// keeps naming its tenant.
func TestRetiredSlugNeverNamesAnotherTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	ctx := t.Context()
	r := tenancy.NewResolver(f.db.AppPool, time.Minute)
	if got, err := r.BySlug(ctx, "tenant-a"); err != nil || got.ID != f.a {
		t.Fatalf("BySlug(tenant-a) = %+v, %v", got, err)
	}
	if _, err := tenancy.RenameTenant(ctx, f.db.OwnerPool, "tenant-a", "tenant-a-renamed"); err != nil {
		t.Fatal(err)
	}

	if _, err := tenancy.CreateTenant(ctx, f.db.OwnerPool, "tenant-a", "Newcomer"); !errors.Is(err, tenancy.ErrSlugTaken) {
		t.Errorf("CreateTenant with the retired slug: %v, want ErrSlugTaken", err)
	}
	if _, err := tenancy.RenameTenant(ctx, f.db.OwnerPool, "tenant-b", "tenant-a"); !errors.Is(err, tenancy.ErrSlugTaken) {
		t.Errorf("RenameTenant to the retired slug: %v, want ErrSlugTaken", err)
	}
	// Nor by hand, as the owner.
	for _, stmt := range []string{
		`INSERT INTO tenants (slug, name) VALUES ('tenant-a', 'Newcomer')`,
		`UPDATE tenants SET slug = 'tenant-a' WHERE slug = 'tenant-b'`,
		`DELETE FROM tenant_slugs WHERE slug = 'tenant-a'`,
		`UPDATE tenant_slugs SET tenant_id = (SELECT id FROM tenants WHERE slug = 'tenant-b') WHERE slug = 'tenant-a'`,
		`TRUNCATE tenant_slugs CASCADE`,
	} {
		if _, err := f.db.OwnerPool.Exec(ctx, stmt); err == nil {
			t.Errorf("the owner could run %s", stmt)
		}
	}

	// Fresh lookups and cached ones alike: tenant-a is tenant A.
	for _, res := range []*tenancy.Resolver{r, tenancy.NewResolver(f.db.AppPool, 0)} {
		if got, err := res.BySlug(ctx, "tenant-a"); err != nil || got.ID != f.a {
			t.Errorf("BySlug(tenant-a) = %+v, %v; want tenant A", got, err)
		}
	}
	// A renamed tenant may take its own old slug back.
	if got, err := tenancy.RenameTenant(ctx, f.db.OwnerPool, "tenant-a-renamed", "tenant-a"); err != nil || got.ID != f.a {
		t.Errorf("renaming tenant A back to tenant-a: %+v, %v", got, err)
	}
}

func TestResolverWithoutCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	r, ctx, c, _ := countedResolver(t, f, 0)
	for i := range 3 {
		if n := resolve(t, r, ctx, c, "tenant-b"); n != 1 {
			t.Fatalf("lookup %d with TTL 0 made %d round trips, want 1", i, n)
		}
	}
	if n := r.CachedSlugs(); n != 0 {
		t.Errorf("TTL 0 cached %d tenants", n)
	}
}

func TestResolverCacheIsBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	for i := range 5 {
		createTenant(t, f.db, fmt.Sprintf("extra-%d", i))
	}
	const ttl = time.Minute
	r, ctx, c, now := countedResolver(t, f, ttl)
	r.SetMaxCached(3)

	for _, slug := range []string{"tenant-a", "tenant-b", "extra-0"} {
		resolve(t, r, ctx, c, slug)
	}
	if n := r.CachedSlugs(); n != 3 {
		t.Fatalf("cached %d tenants, want 3", n)
	}
	// Refreshing an expired entry while the cache is full evicts nothing.
	*now = now.Add(ttl)
	resolve(t, r, ctx, c, "tenant-a")
	if n := r.CachedSlugs(); n != 3 {
		t.Fatalf("refreshing one entry of a full cache left %d cached, want 3", n)
	}
	for i := range 5 {
		resolve(t, r, ctx, c, fmt.Sprintf("extra-%d", i))
		if n := r.CachedSlugs(); n > 3 {
			t.Fatalf("cache holds %d tenants, bound is 3", n)
		}
	}

	// When full, expired entries go first and fresh ones stay.
	r, ctx, c, now = countedResolver(t, f, ttl)
	r.SetMaxCached(3)
	resolve(t, r, ctx, c, "extra-0")
	resolve(t, r, ctx, c, "extra-1")
	*now = now.Add(ttl / 2)
	resolve(t, r, ctx, c, "tenant-a")
	*now = now.Add(ttl / 2) // the extras expire; tenant-a does not
	resolve(t, r, ctx, c, "tenant-b")
	if n := r.CachedSlugs(); n != 2 {
		t.Errorf("after evicting the expired entries the cache holds %d, want 2 (tenant-a, tenant-b)", n)
	}
	if n := resolve(t, r, ctx, c, "tenant-a"); n != 0 {
		t.Errorf("the fresh entry was evicted with the expired ones (%d round trips)", n)
	}
}

// TestUnknownSlugsCannotEvictTenants: made-up slugs fill a cache of their
// own, bounded, and never push known tenants out.
func TestUnknownSlugsCannotEvictTenants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	r, ctx, c, _ := countedResolver(t, f, time.Minute)
	r.SetMaxCached(3)
	resolve(t, r, ctx, c, "tenant-a")
	for i := range 10 {
		if _, err := r.BySlug(ctx, fmt.Sprintf("made-up-%d", i)); !errors.Is(err, tenancy.ErrUnknownTenant) {
			t.Fatal(err)
		}
		if n := r.CachedUnknownSlugs(); n > 3 {
			t.Fatalf("%d unknown slugs cached, bound is 3", n)
		}
	}
	if n := resolve(t, r, ctx, c, "tenant-a"); n != 0 {
		t.Errorf("a known tenant cost %d round trips after a flood of unknown slugs, want 0", n)
	}
}

func TestResolverIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	r := tenancy.NewResolver(f.db.AppPool, time.Minute)
	r.SetMaxCached(1) // every other lookup evicts
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			slug := []string{"tenant-a", "tenant-b"}[i%2]
			if got, err := r.BySlug(t.Context(), slug); err != nil || got.Slug != slug {
				errs <- fmt.Errorf("BySlug(%q) = %+v, %w", slug, got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
