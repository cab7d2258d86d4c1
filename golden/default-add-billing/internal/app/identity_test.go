package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oauth2-proxy/mockoidc"

	"shop/internal/platform/auth"
	"shop/internal/platform/auth/authtest"
	"shop/internal/platform/config"
	"shop/internal/platform/database/dbtest"
	"shop/internal/platform/database/querycount"
	"shop/internal/platform/httpx"
	"shop/internal/platform/jobs/jobstest"
	"shop/internal/platform/module"
	"shop/internal/platform/redisx"
	"shop/internal/platform/redisx/redistest"
	"shop/internal/platform/telemetry"
)

// idEnv is the whole application served over HTTP, with the real
// PostgreSQL, Redis (a private key prefix) and an OpenID Connect provider in
// the test process. Its logs are collected and scanned for secrets when the
// test ends.
type idEnv struct {
	app      *App
	db       *dbtest.DB
	url      string
	provider *mockoidc.MockOIDC
	logs     *authtest.LogSink
	secrets  []string // API keys and session tokens the test made
	// counters, when set, count the round trips of the requests served.
	counters atomic.Pointer[roundTrips]
}

type roundTrips struct {
	pg querycount.Counter
	rd redisx.Counter
}

// sessionsInPostgres tells where this project keeps its sessions.
const sessionsInPostgres = false

func newIDEnv(t *testing.T, modules []module.Definition, environ ...string) *idEnv {
	t.Helper()
	return newIDEnvWith(t, nil, modules, environ...)
}

// newIDEnvWith is newIDEnv with the application traced and reported by tel.
func newIDEnvWith(t *testing.T, tel *telemetry.Telemetry, modules []module.Definition, environ ...string) *idEnv {
	t.Helper()
	db := dbtest.New(t, moduleMigrations(t)...)
	jobstest.MigrateBackend(t, db)
	rd := redistest.New(t)
	srv := httptest.NewUnstartedServer(nil)
	e := &idEnv{db: db, url: "http://" + srv.Listener.Addr().String(), logs: &authtest.LogSink{}}
	var oidcEnv []string
	e.provider, oidcEnv = authtest.Provider(t)
	env := append([]string{
		"DATABASE_URL=" + db.AppURL,
		"APP_ENV=development", // plain HTTP: the cookie is not Secure
		"REDIS_URL=" + rd.Config.URL,
		"REDIS_KEY_PREFIX=" + rd.Config.KeyPrefix,
		"OIDC_REDIRECT_URL=" + e.url + "/auth/callback",
		"TRUSTED_PROXIES=127.0.0.1/32",
	}, oidcEnv...)
	cfg, err := config.Load(append(env, environ...))
	if err != nil {
		t.Fatal(err)
	}
	a, err := build(context.Background(), cfg, authtest.Logger(e.logs), tel, modules)
	if err != nil {
		t.Fatal(err)
	}
	e.app = a
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := e.counters.Load(); c != nil {
			r = r.WithContext(redisx.WithCounter(querycount.WithCounter(r.Context(), &c.pg), &c.rd))
		}
		a.Handler.ServeHTTP(w, r)
	})
	srv.Start()
	e.secrets = append(e.secrets, cfg.OIDC.ClientSecret)
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
		authtest.AssertNoSecrets(t, e.logs.String(), e.secrets...)
	})
	return e
}

// tenant creates a tenant as the operator would.
func (e *idEnv) tenant(t *testing.T, slug string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := e.db.OwnerPool.QueryRow(t.Context(), `INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// key creates an API key of tenant, as the operator command does.
func (e *idEnv) key(t *testing.T, tenant uuid.UUID, role auth.Role, expiresAt *time.Time) string {
	t.Helper()
	k, err := auth.CreateAPIKey(t.Context(), e.db.OwnerPool, tenant, "test", role, expiresAt, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, k.Key)
	return k.Key
}

// call sends a request to the application and decodes a JSON answer into
// out (when not nil).
func (e *idEnv) call(t *testing.T, b *authtest.Browser, prepare func(*http.Request), method, path, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if prepare != nil {
		prepare(req)
	}
	if b == nil {
		b = authtest.NewBrowser()
	}
	res := b.Do(t, req, e.url)
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, data, err)
		}
	}
	return res
}

func bearer(key string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

func bearerFor(key, slug string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("X-Tenant-ID", slug)
	}
}

type meBody struct {
	User *struct {
		ID    uuid.UUID `json:"id"`
		Email string    `json:"email"`
	} `json:"user"`
	APIKey *struct {
		ID   uuid.UUID `json:"id"`
		Role string    `json:"role"`
	} `json:"api_key"`
	Tenant *struct {
		ID   uuid.UUID `json:"id"`
		Slug string    `json:"slug"`
		Role string    `json:"role"`
	} `json:"tenant"`
	Memberships []auth.Membership `json:"memberships"`
}

// signIn signs a new browser in as a user of the test provider.
func (e *idEnv) signIn(t *testing.T, subject, email string) *authtest.Browser {
	t.Helper()
	b := authtest.NewBrowser()
	e.provider.QueueUser(authtest.Person(subject, email))
	if status, body := b.SignIn(t, e.url, nil); status != http.StatusFound {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	t.Cleanup(func() { e.secrets = append(e.secrets, b.Secrets()...) })
	return b
}

// TestSignIn walks the whole authorization code flow against the provider
// in the test process: the user is created, the session set under a token
// that differs from the one issued before sign-in, /api/v1/me answers, a
// tenant created by the user makes them its owner, and sign-out ends the
// session.
func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newIDEnv(t, installedModules())
	b := authtest.NewBrowser()
	e.provider.QueueUser(authtest.Person("sub-ada", "ada@example.com"))
	cookie := e.app.Config.Session.CookieName

	var before string
	status, body := b.SignIn(t, e.url, func(step authtest.Step, u *url.URL) {
		if step == authtest.ToProvider {
			before = b.Cookie(t, e.url, cookie)
			q := u.Query()
			if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
				t.Errorf("authorization request lacks PKCE S256, nonce or state: %s", u.RawQuery)
			}
		}
	})
	if status != http.StatusFound {
		t.Fatalf("callback: %d %s", status, body)
	}
	after := b.Cookie(t, e.url, cookie)
	if before == "" || after == "" || before == after {
		t.Fatalf("session token before sign-in set: %v, after: %v, the same: %v; want two different tokens", before != "", after != "", before == after)
	}
	t.Cleanup(func() { e.secrets = append(e.secrets, b.Secrets()...) })

	var users int
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM users WHERE issuer = $1 AND subject = 'sub-ada' AND email = 'ada@example.com'`, e.provider.Issuer()).Scan(&users); err != nil || users != 1 {
		t.Fatalf("%d users for (issuer, sub-ada), %v; want 1", users, err)
	}
	var me meBody
	if res := e.call(t, b, nil, "GET", "/api/v1/me", "", &me); res.StatusCode != 200 || me.User == nil || me.User.Email != "ada@example.com" || len(me.Memberships) != 0 {
		t.Fatalf("/api/v1/me = %d %+v", res.StatusCode, me)
	}
	// The token used before sign-in is worthless now.
	stale := &http.Cookie{Name: cookie, Value: before}
	if res := e.call(t, nil, func(r *http.Request) { r.AddCookie(stale) }, "GET", "/api/v1/me", "", nil); res.StatusCode != 401 {
		t.Errorf("the pre-sign-in token: %d, want 401", res.StatusCode)
	}

	// The user creates a tenant and becomes its owner, under a new token.
	if res := e.call(t, b, nil, "POST", "/api/v1/tenants", `{"slug":"ada-co","name":"Ada & Co"}`, nil); res.StatusCode != 201 {
		t.Fatalf("create tenant: %d", res.StatusCode)
	}
	if renewed := b.Cookie(t, e.url, cookie); renewed == after || renewed == "" {
		t.Errorf("the session token was not renewed when the tenant changed")
	}
	var role string
	err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE t.slug = 'ada-co'`).Scan(&role)
	if err != nil || role != "owner" {
		t.Fatalf("membership in ada-co: %q, %v; want owner", role, err)
	}
	if res := e.call(t, b, nil, "GET", "/api/v1/me", "", &me); res.StatusCode != 200 || me.Tenant == nil || me.Tenant.Slug != "ada-co" || me.Tenant.Role != "owner" || len(me.Memberships) != 1 {
		t.Fatalf("/api/v1/me after creating a tenant = %d %+v", res.StatusCode, me)
	}

	// Sign-out (a same-origin POST) ends the session in the store.
	signedIn := b.Cookie(t, e.url, cookie)
	if res := e.call(t, b, nil, "POST", "/auth/logout", "", nil); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res := e.call(t, nil, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: cookie, Value: signedIn}) }, "GET", "/api/v1/me", "", nil); res.StatusCode != 401 {
		t.Errorf("the signed-out token: %d, want 401", res.StatusCode)
	}
}

// TestSignInRefusesTampering: a forged state (CSRF), a nonce the session
// did not issue (replay), a forged code and a forged PKCE challenge each
// fail the sign-in, and none creates a user or a signed-in session.
func TestSignInRefusesTampering(t *testing.T) {
	t.Parallel()
	e := newIDEnv(t, nil, "RATE_LIMIT_LOGIN=100/minute")
	for _, tc := range []struct {
		name   string
		step   authtest.Step
		param  string
		status int
		code   string
	}{
		{"state", authtest.ToCallback, "state", 400, "invalid_state"},
		{"nonce", authtest.ToProvider, "nonce", 400, "invalid_nonce"},
		{"code", authtest.ToCallback, "code", 400, "login_failed"},
		{"code_challenge", authtest.ToProvider, "code_challenge", 400, "login_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := authtest.NewBrowser()
			e.provider.QueueUser(authtest.Person("sub-"+tc.name, tc.name+"@example.com"))
			status, body := b.SignIn(t, e.url, func(step authtest.Step, u *url.URL) {
				if step == tc.step {
					authtest.SetQuery(u, tc.param, "forged-"+strings.Repeat("x", 43))
				}
			})
			var eb httpx.ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil || status != tc.status || eb.Error.Code != tc.code {
				t.Errorf("forged %s: %d %s; want %d %s", tc.param, status, body, tc.status, tc.code)
			}
			e.secrets = append(e.secrets, b.Secrets()...)
			if res := e.call(t, b, nil, "GET", "/api/v1/me", "", nil); res.StatusCode != 401 {
				t.Errorf("after a refused sign-in /api/v1/me = %d, want 401", res.StatusCode)
			}
		})
	}
	var users int
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 0 {
		t.Errorf("%d users after refused sign-ins (%v), want 0", users, err)
	}
}

// TestWithoutProvider: without OIDC_ISSUER_URL, sign-in answers a clear
// error and API keys work; with an issuer that is down, the application
// still starts and serves API keys, and sign-in answers 503.
func TestWithoutProvider(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, issuer string
		status       int
		code         string
	}{
		{"not configured", "", 501, "login_not_configured"},
		{"unreachable", "http://127.0.0.1:1/realms/down", 503, "login_unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newIDEnv(t, nil, "OIDC_ISSUER_URL="+tc.issuer)
			var eb httpx.ErrorBody
			if res := e.call(t, nil, nil, "GET", "/auth/login", "", &eb); res.StatusCode != tc.status || eb.Error.Code != tc.code {
				t.Errorf("/auth/login = %d %+v; want %d %s", res.StatusCode, eb, tc.status, tc.code)
			}
			key := e.key(t, e.tenant(t, "acme"), auth.RoleAdmin, nil)
			var me meBody
			if res := e.call(t, nil, bearer(key), "GET", "/api/v1/me", "", &me); res.StatusCode != 200 || me.APIKey == nil || me.Tenant == nil || me.Tenant.Slug != "acme" {
				t.Errorf("API key without a provider: %d %+v", res.StatusCode, me)
			}
		})
	}
}

// TestAPIKeys: a key authenticates in its tenant only, a revoked or expired
// one is refused, a revocation made elsewhere takes effect within
// auth.CacheTTL, only a hash is stored, and last use is recorded.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newIDEnv(t, nil)
	a, _ := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	key := e.key(t, a, auth.RoleAdmin, nil)

	var me meBody
	if res := e.call(t, nil, bearer(key), "GET", "/api/v1/me", "", &me); res.StatusCode != 200 || me.APIKey == nil || me.APIKey.Role != "admin" || me.Tenant.ID != a {
		t.Fatalf("key: %d %+v", res.StatusCode, me)
	}
	if res := e.call(t, nil, bearerFor(key, "tenant-a"), "GET", "/api/v1/api-keys", "", nil); res.StatusCode != 200 {
		t.Errorf("key with its own tenant's header: %d", res.StatusCode)
	}
	for _, slug := range []string{"tenant-b", "no-such-tenant"} {
		var eb httpx.ErrorBody
		if res := e.call(t, nil, bearerFor(key, slug), "GET", "/api/v1/api-keys", "", &eb); res.StatusCode != 404 || eb.Error.Code != "tenant_not_found" {
			t.Errorf("key of tenant-a asking for %s: %d %+v; want 404 tenant_not_found", slug, res.StatusCode, eb)
		}
	}
	for name, token := range map[string]string{
		"a key with one character changed": key[:len(key)-1] + map[bool]string{true: "a", false: "b"}[key[len(key)-1] != 'a'],
		"garbage":                          "garbage",
	} {
		if res := e.call(t, nil, bearer(token), "GET", "/api/v1/me", "", nil); res.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", name, res.StatusCode)
		}
	}

	// Only the hash and the visible prefix are stored.
	var prefix, hash string
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT prefix, secret_hash FROM api_keys`).Scan(&prefix, &hash); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(key))
	if !strings.HasPrefix(key, prefix+"_") || hash != hex.EncodeToString(sum[:]) || strings.Contains(hash, key[len(prefix)+1:]) {
		t.Errorf("stored prefix %q hash %q: want the key's prefix and its SHA-256 only", prefix, hash)
	}

	// Expired keys are refused.
	past := time.Now().Add(-time.Minute)
	if res := e.call(t, nil, bearer(e.key(t, a, auth.RoleMember, &past)), "GET", "/api/v1/me", "", nil); res.StatusCode != 401 {
		t.Errorf("expired key: %d, want 401", res.StatusCode)
	}

	// Revoked through the API: refused at once on this instance.
	other := e.key(t, a, auth.RoleMember, nil)
	if res := e.call(t, nil, bearer(other), "GET", "/api/v1/me", "", &me); res.StatusCode != 200 {
		t.Fatalf("second key: %d", res.StatusCode)
	}
	otherID := me.APIKey.ID
	if res := e.call(t, nil, bearer(key), "DELETE", "/api/v1/api-keys/"+otherID.String(), "", nil); res.StatusCode != 204 {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if res := e.call(t, nil, bearer(other), "GET", "/api/v1/me", "", nil); res.StatusCode != 401 {
		t.Errorf("key revoked through this instance: %d, want 401 at once", res.StatusCode)
	}

	// Revoked elsewhere (another instance, the operator command): refused
	// within auth.CacheTTL.
	if _, err := e.db.OwnerPool.Exec(t.Context(), `UPDATE api_keys SET revoked_at = now() WHERE prefix = $1`, prefix); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		res := e.call(t, nil, bearer(key), "GET", "/api/v1/me", "", nil)
		if res.StatusCode == 401 {
			break
		}
		if time.Since(revoked) > auth.CacheTTL+time.Second {
			t.Fatalf("a key revoked %s ago still authenticates (bound: auth.CacheTTL = %s)", time.Since(revoked), auth.CacheTTL)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The last use is written when the application stops, not per request.
	var used int
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL`).Scan(&used); err != nil || used != 0 {
		t.Errorf("%d keys have last_used_at before any flush (%v): a write per request?", used, err)
	}
	e.app.Auth.Close(t.Context())
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL`).Scan(&used); err != nil || used != 2 {
		t.Errorf("%d keys have last_used_at after the flush (%v), want the 2 used", used, err)
	}
}

// TestTenantChoiceAndMembers: a signed-in user acts only in tenants they
// belong to (404 for any other, like an unknown one); owners and admins
// manage members; the last owner can neither leave nor be demoted; a
// removed member loses access within auth.CacheTTL on every instance.
func TestTenantChoiceAndMembers(t *testing.T) {
	t.Parallel()
	e := newIDEnv(t, installedModules())
	owner := e.signIn(t, "sub-owner", "owner@example.com")
	if res := e.call(t, owner, nil, "POST", "/api/v1/tenants", `{"slug":"team","name":"Team"}`, nil); res.StatusCode != 201 {
		t.Fatalf("create tenant: %d", res.StatusCode)
	}
	if res := e.call(t, owner, nil, "POST", "/api/v1/tenants", `{"slug":"team","name":"Again"}`, nil); res.StatusCode != 409 {
		t.Errorf("a taken slug: %d, want 409", res.StatusCode)
	}
	e.tenant(t, "elsewhere")

	// Members are added once they have signed in.
	var eb httpx.ErrorBody
	if res := e.call(t, owner, nil, "POST", "/api/v1/members", `{"email":"bob@example.com","role":"member"}`, &eb); res.StatusCode != 404 || eb.Error.Code != "user_not_found" {
		t.Errorf("adding someone who never signed in: %d %+v; want 404 user_not_found", res.StatusCode, eb)
	}
	bob := e.signIn(t, "sub-bob", "bob@example.com")
	var bobMember auth.Member
	if res := e.call(t, owner, nil, "POST", "/api/v1/members", `{"email":"BOB@example.com","role":"member"}`, &bobMember); res.StatusCode != 201 || bobMember.Role != "member" {
		t.Fatalf("add bob: %d %+v", res.StatusCode, bobMember)
	}
	var me meBody
	if res := e.call(t, bob, nil, "GET", "/api/v1/me", "", &me); res.StatusCode != 200 || len(me.Memberships) != 1 || me.Tenant == nil {
		t.Fatalf("bob's /me: %d %+v", res.StatusCode, me)
	}
	for _, slug := range []string{"elsewhere", "nowhere"} {
		if res := e.call(t, bob, func(r *http.Request) { r.Header.Set("X-Tenant-ID", slug) }, "GET", "/api/v1/members", "", &eb); res.StatusCode != 404 || eb.Error.Code != "tenant_not_found" {
			t.Errorf("bob asking for %s: %d %+v; want 404 tenant_not_found", slug, res.StatusCode, eb)
		}
	}
	// Bob is a member: he reads, he may not manage.
	if res := e.call(t, bob, nil, "POST", "/api/v1/members", `{"email":"owner@example.com","role":"member"}`, nil); res.StatusCode != 403 {
		t.Errorf("member managing members: %d, want 403", res.StatusCode)
	}
	// An admin may not make owners.
	path := "/api/v1/members/" + bobMember.UserID.String()
	if res := e.call(t, owner, nil, "PATCH", path, `{"role":"admin"}`, nil); res.StatusCode != 200 {
		t.Fatalf("promote bob to admin: %d", res.StatusCode)
	}
	if res := e.call(t, bob, nil, "PATCH", path, `{"role":"owner"}`, nil); res.StatusCode != 403 {
		t.Errorf("admin making himself owner: %d, want 403", res.StatusCode)
	}
	// The last owner cannot leave or be demoted.
	me = meBody{}
	e.call(t, owner, nil, "GET", "/api/v1/me", "", &me)
	ownerPath := "/api/v1/members/" + me.User.ID.String()
	for _, req := range []struct{ method, body string }{{"DELETE", ""}, {"PATCH", `{"role":"admin"}`}} {
		if res := e.call(t, owner, nil, req.method, ownerPath, req.body, &eb); res.StatusCode != 409 || eb.Error.Code != "last_owner" {
			t.Errorf("last owner %s: %d %+v; want 409 last_owner", req.method, res.StatusCode, eb)
		}
	}
	// Removed elsewhere: bob loses the tenant within auth.CacheTTL.
	if _, err := e.db.OwnerPool.Exec(t.Context(), `DELETE FROM memberships WHERE user_id = $1`, bobMember.UserID); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	for {
		res := e.call(t, bob, func(r *http.Request) { r.Header.Set("X-Tenant-ID", "team") }, "GET", "/api/v1/members", "", nil)
		if res.StatusCode == 404 {
			break
		}
		if time.Since(removed) > auth.CacheTTL+time.Second {
			t.Fatalf("a member removed %s ago still reaches the tenant (%d)", time.Since(removed), res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNothingRunsAnonymously: a route registered without any role check
// still never runs for a request without credentials, whatever tenant it
// names: the middleware answers 401 before the mux is reached.
func TestNothingRunsAnonymously(t *testing.T) {
	t.Parallel()
	var ran atomic.Int32
	open := module.Definition{Name: "open", Register: func(mux *http.ServeMux, _ module.Deps) error {
		mux.HandleFunc("GET /api/v1/open", func(w http.ResponseWriter, _ *http.Request) {
			ran.Add(1)
			w.WriteHeader(http.StatusOK)
		})
		return nil
	}}
	e := newIDEnv(t, []module.Definition{open})
	e.tenant(t, "acme")
	for name, prepare := range map[string]func(*http.Request){
		"nothing":         nil,
		"a tenant header": func(r *http.Request) { r.Header.Set("X-Tenant-ID", "acme") },
		"a basic auth":    func(r *http.Request) { r.SetBasicAuth("admin", "admin") },
		"a stale cookie":  func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: "stale"}) },
	} {
		var eb httpx.ErrorBody
		if res := e.call(t, nil, prepare, "GET", "/api/v1/open", "", &eb); res.StatusCode != 401 || eb.Error.Code != "unauthenticated" {
			t.Errorf("with %s: %d %+v; want 401 unauthenticated", name, res.StatusCode, eb)
		}
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("the handler ran %d times for anonymous requests", n)
	}
}

// TestCrossOriginCookieRequestsAreRefused: a state-changing request that
// carries the session cookie from another site is refused (CSRF); the same
// request with an API key is not a cookie's and passes.
func TestCrossOriginCookieRequestsAreRefused(t *testing.T) {
	t.Parallel()
	e := newIDEnv(t, nil)
	b := e.signIn(t, "sub-eve-target", "target@example.com")
	crossSite := func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }
	var eb httpx.ErrorBody
	if res := e.call(t, b, crossSite, "POST", "/api/v1/tenants", `{"slug":"csrf","name":"CSRF"}`, &eb); res.StatusCode != 403 || eb.Error.Code != "cross_origin" {
		t.Errorf("cross-site POST with the cookie: %d %+v; want 403 cross_origin", res.StatusCode, eb)
	}
	if res := e.call(t, b, crossSite, "POST", "/auth/logout", "", nil); res.StatusCode != 403 {
		t.Errorf("cross-site logout: %d, want 403", res.StatusCode)
	}
	key := e.key(t, e.tenant(t, "machines"), auth.RoleAdmin, nil)
	eb = httpx.ErrorBody{}
	if res := e.call(t, nil, func(r *http.Request) { bearer(key)(r); crossSite(r) }, "POST", "/api/v1/members", `{"email":"nobody@example.com","role":"member"}`, &eb); res.StatusCode != 404 || eb.Error.Code != "user_not_found" {
		t.Errorf("cross-site POST with an API key: %d %+v; want it served (404 user_not_found), not refused as a cookie's", res.StatusCode, eb)
	}
}

// TestLoginRateLimit: the sixth sign-in attempt in a minute from one IP
// gets 429 with Retry-After and the RateLimit headers; another IP is
// unaffected. X-Forwarded-For is believed from TRUSTED_PROXIES only.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newIDEnv(t, nil)
	from := func(ip string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Forwarded-For", ip) }
	}
	for i := 1; i <= 6; i++ {
		res := e.call(t, nil, from("203.0.113.7"), "GET", "/auth/login", "", nil)
		want := http.StatusFound
		if i == 6 {
			want = http.StatusTooManyRequests
		}
		if res.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i, res.StatusCode, want)
		}
		if i == 6 {
			retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
			if err != nil || retry < 1 || retry > 60 {
				t.Errorf("Retry-After = %q, want 1..60 seconds", res.Header.Get("Retry-After"))
			}
			if res.Header.Get("RateLimit-Limit") != "5" || res.Header.Get("RateLimit-Remaining") != "0" {
				t.Errorf("RateLimit headers: %v", res.Header)
			}
		} else if got := res.Header.Get("RateLimit-Remaining"); got != strconv.Itoa(5-i) {
			t.Errorf("attempt %d: RateLimit-Remaining %q, want %d", i, got, 5-i)
		}
	}
	if res := e.call(t, nil, from("203.0.113.8"), "GET", "/auth/login", "", nil); res.StatusCode != http.StatusFound {
		t.Errorf("another IP: %d, want 302", res.StatusCode)
	}
}

// measure serves one request with its round trips counted.
func (e *idEnv) measure(t *testing.T, b *authtest.Browser, prepare func(*http.Request), method, path string) (status, pg, rd int) {
	t.Helper()
	c := new(roundTrips)
	e.counters.Store(c)
	defer e.counters.Store(nil)
	res := e.call(t, b, prepare, method, path, "", nil)
	return res.StatusCode, c.pg.Count(), c.rd.Count()
}

// TestExpensiveRoutes: a route marked Expensive counts against
// RATE_LIMIT_EXPENSIVE per user or key, charged in the same Redis round
// trip as the other limits.
func TestExpensiveRoutes(t *testing.T) {
	t.Parallel()
	report := module.Definition{Name: "reports", Register: func(mux *http.ServeMux, deps module.Deps) error {
		mux.Handle("POST /api/v1/reports", auth.Require(auth.RoleAdmin)(deps.Limiter.Expensive(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
		}))))
		return nil
	}}
	e := newIDEnv(t, []module.Definition{report}, "RATE_LIMIT_EXPENSIVE=2/hour")
	tenant := e.tenant(t, "reporting")
	key, other := e.key(t, tenant, auth.RoleAdmin, nil), e.key(t, tenant, auth.RoleAdmin, nil)
	e.call(t, nil, bearer(other), "GET", "/api/v1/me", "", nil) // loads the script
	for i := 1; i <= 2; i++ {
		if status, _, rd := e.measure(t, nil, bearer(key), "POST", "/api/v1/reports"); status != http.StatusAccepted || rd != 1 {
			t.Errorf("expensive request %d: %d with %d Redis round trips; want 202 and 1 (every limit in one call)", i, status, rd)
		}
	}
	res := e.call(t, nil, bearer(key), "POST", "/api/v1/reports", "", nil)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("third expensive request: %d, want 429 with Retry-After", res.StatusCode)
	}
	if res := e.call(t, nil, bearer(key), "GET", "/api/v1/me", "", nil); res.StatusCode != http.StatusOK {
		t.Errorf("a cheap request of the same key: %d, want 200", res.StatusCode)
	}
	if res := e.call(t, nil, bearer(other), "POST", "/api/v1/reports", "", nil); res.StatusCode != http.StatusAccepted {
		t.Errorf("another key's expensive request: %d, want 202", res.StatusCode)
	}
}

// TestRoundTripsPerRequest holds an authenticated request to the budget of
// DESIGN.md: one Redis round trip for the rate limits, one round trip for
// identity (the session read; an API key is cached), and the handler's own
// statement (GET /api/v1/members: one query).
func TestRoundTripsPerRequest(t *testing.T) {
	t.Parallel()
	e := newIDEnv(t, nil)
	key := e.key(t, e.tenant(t, "budget"), auth.RoleAdmin, nil)
	b := e.signIn(t, "sub-budget", "budget@example.com")
	if res := e.call(t, b, nil, "POST", "/api/v1/tenants", `{"slug":"budget-2","name":"B"}`, nil); res.StatusCode != 201 {
		t.Fatalf("create tenant: %d", res.StatusCode)
	}
	// Warm the caches and load the rate-limit script.
	e.measure(t, nil, bearer(key), "GET", "/api/v1/members")
	e.measure(t, b, nil, "GET", "/api/v1/members")

	if status, pg, rd := e.measure(t, nil, bearer(key), "GET", "/api/v1/members"); status != 200 || pg != 1 || rd != 1 {
		t.Errorf("API key: %d, %d PostgreSQL and %d Redis round trips; want 200, 1 (the handler's) and 1 (every rate limit)", status, pg, rd)
	}
	wantPG, wantRedis := 1, 2 // Redis: the session read and the rate limits
	if sessionsInPostgres {
		wantPG, wantRedis = 2, 1 // the session read is a PostgreSQL round trip
	}
	if status, pg, rd := e.measure(t, b, nil, "GET", "/api/v1/members"); status != 200 || pg != wantPG || rd != wantRedis {
		t.Errorf("session: %d, %d PostgreSQL and %d Redis round trips; want 200, %d and %d", status, pg, rd, wantPG, wantRedis)
	}
}
