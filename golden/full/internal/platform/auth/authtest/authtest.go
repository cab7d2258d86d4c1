// Package authtest lets tests authenticate the way clients of the
// application do: with API keys and sessions of users whose memberships are
// real rows of the test database, checked by the real auth middleware.
//
// Sessions are kept in process memory (scs's memstore): the middleware
// under test is the same, and module tests need no Redis. The shared stores
// are tested by package auth and by the binary's own tests.
package authtest

import (
	"context"
	"net/http"
	"testing"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/acme/acme/internal/platform/auth"
	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/database/dbtest"
	"github.com/acme/acme/internal/platform/httpx"
	"github.com/acme/acme/internal/platform/tenancy"
)

// Env authenticates requests against a test database.
type Env struct {
	DB     *dbtest.DB
	Auth   *auth.Authenticator
	Config *config.Config
}

// New returns an Env on db. environ adds settings (KEY=value), such as
// TENANT_RESOLUTION=subdomain.
func New(t testing.TB, db *dbtest.DB, environ ...string) *Env {
	t.Helper()
	cfg, err := config.Load(append([]string{"DATABASE_URL=" + db.AppURL, "APP_ENV=test"}, environ...))
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.NewWithCleanupInterval(0)
	sessions, err := auth.NewSessions(cfg.Session, cfg.Env, store, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Options{
		Config:   cfg,
		Pool:     db.AppPool,
		Sessions: sessions,
		Resolver: tenancy.NewResolver(db.AppPool, 0),
		Logger:   Logger(),
	})
	t.Cleanup(func() { a.Close(context.Background()) })
	return &Env{DB: db, Auth: a, Config: cfg}
}

// Handler serves api behind the auth middleware, as the application does
// (with the identity API registered on api too).
func (e *Env) Handler(api *http.ServeMux) http.Handler {
	e.Auth.RegisterAPI(api)
	return e.Auth.Middleware(api)(httpx.JSONFallback(api))
}

// Tenant creates a tenant with slug and returns its id.
func (e *Env) Tenant(t testing.TB, slug string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := e.DB.OwnerPool.QueryRow(t.Context(), `INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, slug).Scan(&id); err != nil {
		t.Fatalf("authtest: create tenant %s: %v", slug, err)
	}
	return id
}

// User creates a user as a first sign-in at a provider would.
func (e *Env) User(t testing.TB, email string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	err := e.DB.OwnerPool.QueryRow(t.Context(),
		`INSERT INTO users (issuer, subject, email, name) VALUES ('https://issuer.test', $1, $1, $1) RETURNING id`, email).Scan(&id)
	if err != nil {
		t.Fatalf("authtest: create user %s: %v", email, err)
	}
	return id
}

// Member makes user a member of tenant with role.
func (e *Env) Member(t testing.TB, tenant, user uuid.UUID, role auth.Role) {
	t.Helper()
	_, err := tenancy.Exec(t.Context(), e.DB.OwnerPool, tenant,
		`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)`, tenant, user, role)
	if err != nil {
		t.Fatalf("authtest: add member: %v", err)
	}
}

// APIKey creates an API key of tenant with role and returns it.
func (e *Env) APIKey(t testing.TB, tenant uuid.UUID, role auth.Role) string {
	t.Helper()
	k, err := auth.CreateAPIKey(t.Context(), e.DB.OwnerPool, tenant, "test", role, nil, nil)
	if err != nil {
		t.Fatalf("authtest: create API key: %v", err)
	}
	Remember(k.Key)
	return k.Key
}

// Session signs user in and returns the session cookie to send.
func (e *Env) Session(t testing.TB, user uuid.UUID) *http.Cookie {
	t.Helper()
	token, err := e.Auth.Sessions().Issue(context.WithoutCancel(t.Context()), user)
	if err != nil {
		t.Fatalf("authtest: sign in: %v", err)
	}
	Remember(token)
	return &http.Cookie{Name: e.Auth.Sessions().CookieName(), Value: token, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
}

// Caller adds credentials (and a tenant) to a request.
type Caller func(*http.Request)

// Anonymous sends no credentials.
func Anonymous(*http.Request) {}

// Bearer authenticates with an API key, asking for no tenant.
func Bearer(key string) Caller {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

// With adds the tenant header (TENANT_HEADER's default, X-Tenant-ID)
// naming slug to c's requests.
func (c Caller) With(slug string) Caller {
	return func(r *http.Request) {
		c(r)
		r.Header.Set("X-Tenant-ID", slug)
	}
}

// Cookie authenticates with a session cookie, asking for no tenant.
func Cookie(c *http.Cookie) Caller {
	return func(r *http.Request) { r.AddCookie(c) }
}
