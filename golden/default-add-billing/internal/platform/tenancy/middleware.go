package tenancy

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"shop/internal/platform/config"
	"shop/internal/platform/httpx"
	"shop/internal/platform/logging"
)

// Middleware resolves the tenant of every request it wraps and puts it in
// the request context (see FromContext). Wrap only the routes that serve
// tenant data: a request without a tenant gets 400 tenant_required, one
// naming an unknown tenant gets 404 tenant_not_found, one whose tenant
// cannot be looked up (the database is down) gets 503 unavailable with
// Retry-After (httpx.ServerError), and none of them reaches next.
//
// With cfg.Resolution "header" the tenant's slug is read from cfg.Header;
// with "subdomain" it is the label of the Host directly below
// cfg.BaseDomain. Slugs rather than ids keep URLs and headers readable and
// let one resolver serve both strategies.
func Middleware(cfg config.Tenancy, resolver *Resolver, logger *slog.Logger) func(http.Handler) http.Handler {
	slugOf := func(r *http.Request) string { return strings.TrimSpace(r.Header.Get(cfg.Header)) }
	where := "the " + cfg.Header + " header"
	if cfg.Resolution == config.TenantFromSubdomain {
		slugOf = func(r *http.Request) string { return SlugFromSubdomain(r.Host, cfg.BaseDomain) }
		where = "a subdomain of " + cfg.BaseDomain
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			slug := slugOf(r)
			if slug == "" {
				httpx.Error(w, r, http.StatusBadRequest, "tenant_required", "this request needs a tenant: send its slug in "+where)
				return
			}
			t, err := resolver.BySlug(r.Context(), slug)
			switch {
			case errors.Is(err, ErrUnknownTenant):
				httpx.Error(w, r, http.StatusNotFound, "tenant_not_found", "no tenant has this slug")
				return
			case err != nil:
				httpx.ServerError(w, r, logger, "resolve tenant", err)
				return
			}
			// The request's log line and every record logged with its
			// context carry the tenant.
			ctx := logging.Add(r.Context(), slog.String("tenant_id", t.ID.String()))
			next.ServeHTTP(w, r.WithContext(WithTenant(ctx, t)))
		})
	}
}

// Require returns the tenant the middleware put in the request's context.
// Without one (a route mounted outside Middleware) it writes 400
// tenant_required and returns false; the handler then just returns.
func Require(w http.ResponseWriter, r *http.Request) (Tenant, bool) {
	t, ok := FromContext(r.Context())
	if !ok {
		httpx.Error(w, r, http.StatusBadRequest, "tenant_required", "this request needs a tenant")
	}
	return t, ok
}
