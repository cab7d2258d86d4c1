package tenancy

import "time"

// SetClock replaces the resolver's clock, so tests can expire cache entries
// without sleeping.
func (r *Resolver) SetClock(now func() time.Time) { r.now = now }

// SetMaxCached lowers the cache bound, so tests can reach it with a few
// tenants.
func (r *Resolver) SetMaxCached(n int) { r.max = n }

// CachedSlugs returns the number of cached tenants.
func (r *Resolver) CachedSlugs() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.cache)
}
