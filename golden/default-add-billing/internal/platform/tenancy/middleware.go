package tenancy

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"shop/internal/platform/config"
)

// Middleware resolves the tenant of every request it wraps and puts it in
// the request context (see FromContext). Wrap only the routes that serve
// tenant data: a request without a tenant gets 400 tenant_required, one
// naming an unknown tenant gets 404 tenant_not_found, and neither reaches
// next.
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
				WriteError(w, http.StatusBadRequest, "tenant_required", "this request needs a tenant: send its slug in "+where)
				return
			}
			t, err := resolver.BySlug(r.Context(), slug)
			switch {
			case errors.Is(err, ErrUnknownTenant):
				WriteError(w, http.StatusNotFound, "tenant_not_found", "no tenant has this slug")
				return
			case err != nil:
				logger.ErrorContext(r.Context(), "resolve tenant", "error", err)
				WriteError(w, http.StatusServiceUnavailable, "tenant_unavailable", "the tenant could not be resolved; try again")
				return
			}
			next.ServeHTTP(w, r.WithContext(WithTenant(r.Context(), t)))
		})
	}
}

// WriteError writes the JSON error body used by the API:
// {"error":{"code":"...","message":"..."}}.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
