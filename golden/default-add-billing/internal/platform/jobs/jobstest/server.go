package jobstest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/uuid"

	"shop/internal/platform/auth"
	"shop/internal/platform/auth/authtest"
	"shop/internal/platform/database/dbtest"
	"shop/internal/platform/module"
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

// Server is srv serving an API the way the application does: behind the
// real authentication middleware, which resolves the tenant from the
// principal, with the download route of the storage beside it.
type Server struct {
	*httptest.Server
	auth *authtest.Env

	mu       sync.Mutex
	sessions map[[2]string]*http.Cookie // (tenant slug, role) → session
}

// Serve starts srv serving api (see Server).
func (e *Env) Serve(t testing.TB, srv *httptest.Server, db *dbtest.DB, api *http.ServeMux) *Server {
	t.Helper()
	s := &Server{Server: srv, auth: authtest.New(t, db, PublicURL(srv)), sessions: map[[2]string]*http.Cookie{}}
	root := http.NewServeMux()
	root.Handle(module.APIPrefix, s.auth.Handler(api))
	e.Blob.Register(root)
	srv.Config.Handler = root
	srv.Start()
	return s
}

// As authenticates req as a signed-in user who is a member of the tenant
// with slug with role, and selects that tenant (X-Tenant-ID): the user, the
// membership and the session are real rows and a real session, created on
// first use for each tenant and role. Role "" sends no credentials at all.
func (s *Server) As(t testing.TB, req *http.Request, slug string, role auth.Role) {
	t.Helper()
	if role == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := [2]string{slug, string(role)}
	cookie, ok := s.sessions[id]
	if !ok {
		var tenant uuid.UUID
		if err := s.auth.DB.OwnerPool.QueryRow(t.Context(), `SELECT id FROM tenants WHERE slug = $1`, slug).Scan(&tenant); err != nil {
			t.Fatalf("jobstest: tenant %q: %v", slug, err)
		}
		user := s.auth.User(t, string(role)+"@"+slug+".test")
		s.auth.Member(t, tenant, user, role)
		cookie = s.auth.Session(t, user)
		s.sessions[id] = cookie
	}
	authtest.Cookie(cookie).With(slug)(req)
}
