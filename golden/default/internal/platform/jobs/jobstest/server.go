package jobstest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"shop/internal/platform/auth"
	"shop/internal/platform/config"
	"shop/internal/platform/database/dbtest"
	"shop/internal/platform/module"
	"shop/internal/platform/tenancy"
)

// TenantHeader and RoleHeader are how a test request names its tenant
// (by slug) and the role of its principal there.
const (
	TenantHeader = "X-Tenant-ID"
	RoleHeader   = "X-Test-Role"
)

// NewServer returns an HTTP test server that is not started yet, closed
// when the test ends. Its address is known, so PublicURL(srv) can be given
// to New as PUBLIC_URL before the routes exist; then Serve starts it.
func NewServer(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	return srv
}

// PublicURL is the PUBLIC_URL setting of srv.
func PublicURL(srv *httptest.Server) string {
	return "PUBLIC_URL=http://" + srv.Listener.Addr().String()
}

// Serve starts srv serving api as the application serves its API: behind
// the tenant middleware (the tenant's slug in TenantHeader), with a
// principal in that tenant whose role is the RoleHeader (no principal
// without it); beside it, the download route of e's storage.
func (e *Env) Serve(srv *httptest.Server, db *dbtest.DB, api http.Handler) {
	withRole := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if role := r.Header.Get(RoleHeader); role != "" {
			tn, _ := tenancy.FromContext(r.Context())
			r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{UserID: uuid.New(), TenantID: tn.ID, Role: auth.Role(role)}))
		}
		api.ServeHTTP(w, r)
	})
	cfg := config.Tenancy{Resolution: config.TenantFromHeader, Header: TenantHeader}
	root := http.NewServeMux()
	root.Handle(module.APIPrefix, tenancy.Middleware(cfg, tenancy.NewResolver(db.AppPool, 0), slog.New(slog.DiscardHandler))(withRole))
	e.Blob.Register(root)
	srv.Config.Handler = root
	srv.Start()
}
