package tenancy

import "time"

// SetClock replaces the resolver's clock, so tests can expire cache entries
// without sleeping.
func (r *Resolver) SetClock(now func() time.Time) { r.now = now }

// SetMaxCached lowers the bounds of both caches, so tests can reach them
// with a few slugs.
func (r *Resolver) SetMaxCached(n int) {
	r.known.max = n
	r.unknown.max = n
}

// CachedSlugs returns the number of cached tenants.
func (r *Resolver) CachedSlugs() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.known.entries)
}

// CachedUnknownSlugs returns the number of slugs cached as unknown.
func (r *Resolver) CachedUnknownSlugs() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.unknown.entries)
}
