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

// ValidSlug reports whether s can be a tenant slug. The tenants table's
// CHECK (tenants_slug_format) is the same rule, tested to agree.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// Querier runs a query. *pgxpool.Pool and *pgx.Conn satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Resolver finds tenants by slug and caches what it found, so that
// resolving the tenant of a request rarely costs a database round trip.
// The tenants tables are not tenant-owned: the application role reads them
// without a tenant set.
//
// A cached answer can never name the wrong tenant: a slug belongs to one
// tenant forever (the tenant_slugs table; see `tenants rename`), so an
// entry can only be stale in the tenant's name or current slug, for at
// most the TTL. A slug that was renamed away keeps resolving to its tenant.
type Resolver struct {
	db         Querier
	ttl        time.Duration
	unknownTTL time.Duration
	now        func() time.Time

	mu      sync.RWMutex
	known   expiring[Tenant]
	unknown expiring[struct{}]
}

// Bounds of the resolver's caches. Known tenants are bounded by the
// customer base; unknown slugs by what clients send, so they have their own
// bound: a flood of made-up slugs never evicts a known tenant.
const (
	maxCachedTenants = 10_000
	maxUnknownSlugs  = 10_000
)

// UnknownSlugTTL is how long a slug that names no tenant is remembered as
// unknown (less when the resolver's TTL is shorter), so that repeated
// requests for it cost no query. It is also the longest a newly created
// tenant can be refused (404 tenant_not_found) by an instance that looked
// its slug up just before it existed.
const UnknownSlugTTL = 5 * time.Second

// NewResolver returns a Resolver reading from db that remembers a tenant
// for ttl and an unknown slug for the shorter of ttl and UnknownSlugTTL.
// A ttl of 0 disables both caches.
func NewResolver(db Querier, ttl time.Duration) *Resolver {
	return &Resolver{
		db:         db,
		ttl:        ttl,
		unknownTTL: min(ttl, UnknownSlugTTL),
		now:        time.Now,
		known:      newExpiring[Tenant](maxCachedTenants),
		unknown:    newExpiring[struct{}](maxUnknownSlugs),
	}
}

// resolveSQL finds a tenant by any slug it ever had.
const resolveSQL = `
SELECT t.id, t.slug, t.name
FROM tenant_slugs s JOIN tenants t ON t.id = s.tenant_id
WHERE s.slug = $1`

// BySlug returns the tenant that slug names (its current slug or one it had
// before a rename), or ErrUnknownTenant.
func (r *Resolver) BySlug(ctx context.Context, slug string) (Tenant, error) {
	if !ValidSlug(slug) {
		return Tenant{}, ErrUnknownTenant
	}
	now := r.now()
	r.mu.RLock()
	t, known := r.known.get(slug, now)
	_, unknown := r.unknown.get(slug, now)
	r.mu.RUnlock()
	switch {
	case known:
		return t, nil
	case unknown:
		return Tenant{}, ErrUnknownTenant
	}

	rows, _ := r.db.Query(ctx, resolveSQL, slug)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Tenant])
	if errors.Is(err, pgx.ErrNoRows) {
		if r.unknownTTL > 0 {
			r.mu.Lock()
			r.unknown.put(slug, struct{}{}, now, now.Add(r.unknownTTL))
			r.mu.Unlock()
		}
		return Tenant{}, ErrUnknownTenant
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("tenancy: look up tenant %q: %w", slug, err)
	}
	if r.ttl > 0 {
		r.mu.Lock()
		r.known.put(slug, t, now, now.Add(r.ttl))
		r.mu.Unlock()
	}
	return t, nil
}

// expiring is a map whose entries expire, bounded to max entries. It is not
// safe for concurrent use.
type expiring[V any] struct {
	max     int
	entries map[string]expiringEntry[V]
}

type expiringEntry[V any] struct {
	value   V
	expires time.Time
}

func newExpiring[V any](max int) expiring[V] {
	return expiring[V]{max: max, entries: make(map[string]expiringEntry[V])}
}

// get returns the value of key unless it is missing or expired at now.
func (e *expiring[V]) get(key string, now time.Time) (V, bool) {
	c, ok := e.entries[key]
	if !ok || !now.Before(c.expires) {
		var zero V
		return zero, false
	}
	return c.value, true
}

// put stores v under key until expires. When the map is full it first
// drops the expired entries and, if that frees nothing, empties the map: it
// refills with the keys actually in use, one query each, which is cheaper
// than tracking recency on every hit.
func (e *expiring[V]) put(key string, v V, now, expires time.Time) {
	if _, ok := e.entries[key]; !ok && len(e.entries) >= e.max {
		maps.DeleteFunc(e.entries, func(_ string, c expiringEntry[V]) bool { return !now.Before(c.expires) })
		if len(e.entries) >= e.max {
			clear(e.entries)
		}
	}
	e.entries[key] = expiringEntry[V]{value: v, expires: expires}
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
