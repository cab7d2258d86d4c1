package tenancy

import (
	"net/http"

	"github.com/acme/acme/internal/platform/httpx"
)

// Require returns the tenant the auth middleware (package auth) put in the
// request's context: one the request's principal belongs to. Without one
// (a route mounted outside the middleware) it writes 400 tenant_required
// and returns false; the handler then just returns.
func Require(w http.ResponseWriter, r *http.Request) (Tenant, bool) {
	t, ok := FromContext(r.Context())
	if !ok {
		httpx.Error(w, r, http.StatusBadRequest, "tenant_required", "this request needs a tenant")
	}
	return t, ok
}
