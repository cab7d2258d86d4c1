package tenancy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrUnknownTenant is returned when no tenant has the requested slug.
var ErrUnknownTenant = errors.New("tenancy: unknown tenant")

// slugPattern is what a tenant slug must look like: a DNS label, so that the
// same slug works as a subdomain and in a header.
var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidSlug reports whether s can be a tenant slug.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// Querier runs a query. *pgxpool.Pool satisfies it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Resolver finds tenants by slug and caches what it found for a while, so
// that resolving the tenant of a request rarely costs a database round trip.
// The tenants table is not tenant-owned: the application role reads it
// without a tenant set.
type Resolver struct {
	db  Querier
	ttl time.Duration
	now func() time.Time
	// max bounds the cache: maxCachedTenants, lowered by tests.
	max int

	mu    sync.RWMutex
	cache map[string]cachedTenant
}

type cachedTenant struct {
	tenant  Tenant
	expires time.Time
}

// maxCachedTenants bounds the cache. Only tenants that exist are cached, so
// the bound is reached by a large customer base, not by requests for made-up
// slugs.
const maxCachedTenants = 10_000

// NewResolver returns a Resolver reading from db that remembers a tenant
// for ttl (0 disables the cache). A renamed or deleted slug may keep
// resolving for up to ttl.
func NewResolver(db Querier, ttl time.Duration) *Resolver {
	return &Resolver{db: db, ttl: ttl, now: time.Now, max: maxCachedTenants, cache: make(map[string]cachedTenant)}
}

// BySlug returns the tenant whose slug is slug, or ErrUnknownTenant.
func (r *Resolver) BySlug(ctx context.Context, slug string) (Tenant, error) {
	if !ValidSlug(slug) {
		return Tenant{}, ErrUnknownTenant
	}
	now := r.now()
	r.mu.RLock()
	c, ok := r.cache[slug]
	r.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.tenant, nil
	}

	rows, _ := r.db.Query(ctx, "SELECT id, slug, name FROM tenants WHERE slug = $1", slug)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Tenant])
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, ErrUnknownTenant
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("tenancy: look up tenant %q: %w", slug, err)
	}
	if r.ttl > 0 {
		r.remember(slug, cachedTenant{tenant: t, expires: now.Add(r.ttl)}, now)
	}
	return t, nil
}

// remember caches c under slug. When the cache is full it first drops the
// expired entries and, if that frees nothing, empties the cache: it refills
// with the tenants actually in use, one query each, which is cheaper than
// tracking recency on every hit.
func (r *Resolver) remember(slug string, c cachedTenant, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[slug]; !ok && len(r.cache) >= r.max {
		maps.DeleteFunc(r.cache, func(_ string, c cachedTenant) bool { return !now.Before(c.expires) })
		if len(r.cache) >= r.max {
			clear(r.cache)
		}
	}
	r.cache[slug] = c
}

// SlugFromSubdomain returns the first label of host when host is exactly one
// label below baseDomain ("acme.example.com" under "example.com" is "acme"),
// and "" otherwise. A port in host is ignored, and so is letter case.
func SlugFromSubdomain(host, baseDomain string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	suffix := "." + strings.ToLower(strings.Trim(baseDomain, "."))
	label, ok := strings.CutSuffix(host, suffix)
	if !ok || label == "" || strings.Contains(label, ".") {
		return ""
	}
	return label
}
