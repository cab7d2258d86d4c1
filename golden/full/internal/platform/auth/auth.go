// Package auth says who a request acts for and in which tenant.
//
// People sign in at an OpenID Connect provider (authorization code flow
// with PKCE, state and nonce: /auth/login, /auth/callback, /auth/logout);
// their session lives in the shared session store, never in process
// memory. Machines send an API key as Authorization: Bearer <key>. Either
// way the middleware builds a Principal and the request's tenant from it:
// a session's tenant is one of the user's memberships (chosen by the
// X-Tenant-ID header or subdomain, else the one selected in the session,
// else the user's only one); an API key's tenant is its own. A tenant the
// principal does not belong to answers 404, exactly like a tenant that does
// not exist, so the API is no oracle of which tenants exist; no credentials
// answer 401. Nothing under /api/v1/ runs without credentials except the
// routes listed in Options.Public.
//
// Per request the middleware costs one round trip for identity (the session
// read, or an API-key lookup that is cached for CacheTTL), one Redis round
// trip for every rate limit that applies, and nothing for memberships and
// tenants while their caches hold them.
//
// Reading across tenants happens only in three SECURITY DEFINER functions
// of the identity migration: a user's memberships (identity_user_memberships),
// an API key by prefix (identity_api_key) and a signed-in user creating a
// tenant (identity_create_tenant). Everything else runs under row-level
// security with the request's tenant.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/httpx"
	"github.com/acme/acme/internal/platform/logging"
	"github.com/acme/acme/internal/platform/ratelimit"
	"github.com/acme/acme/internal/platform/tenancy"
)

// Options configures an Authenticator.
type Options struct {
	// Config supplies the tenant resolution (TENANT_*) and sign-in (OIDC_*)
	// settings.
	Config *config.Config
	// Pool connects as the application role.
	Pool *pgxpool.Pool
	// Sessions keeps signed-in users' sessions.
	Sessions *Sessions
	// Limiter enforces the rate limits; nil enforces none (tests).
	Limiter *ratelimit.Limiter
	// Resolver maps slugs to tenants.
	Resolver *tenancy.Resolver
	Logger   *slog.Logger
	// Public lists patterns of the API mux, such as "GET /api/v1/status",
	// that run without credentials. Empty by default.
	Public []string
}

// Authenticator authenticates requests and serves the sign-in routes and
// the identity API (/api/v1/me, tenants, members, API keys).
type Authenticator struct {
	cfg      *config.Config
	db       *pgxpool.Pool
	sessions *Sessions
	limiter  *ratelimit.Limiter
	resolver *tenancy.Resolver
	logger   *slog.Logger
	keys     *Keys
	members  *Memberships
	idp      *provider
	csrf     *http.CrossOriginProtection
	// public and account are the route patterns served without
	// credentials, and with credentials but without a tenant.
	public, account map[string]bool
}

// New returns an Authenticator. Close releases it.
func New(opts Options) *Authenticator {
	a := &Authenticator{
		cfg:      opts.Config,
		db:       opts.Pool,
		sessions: opts.Sessions,
		limiter:  opts.Limiter,
		resolver: opts.Resolver,
		logger:   opts.Logger,
		keys:     NewKeys(opts.Pool, opts.Logger),
		members:  NewMemberships(opts.Pool),
		idp:      newProvider(opts.Config.OIDC),
		csrf:     http.NewCrossOriginProtection(),
		public:   map[string]bool{},
		account:  map[string]bool{},
	}
	for _, p := range opts.Public {
		a.public[p] = true
	}
	return a
}

// Close writes the API keys' last uses still in memory.
func (a *Authenticator) Close(ctx context.Context) { a.keys.Close(ctx) }

// Sessions returns the session manager.
func (a *Authenticator) Sessions() *Sessions { return a.sessions }

// RegisterLogin adds GET /auth/login, GET /auth/callback and
// POST /auth/logout to mux.
func (a *Authenticator) RegisterLogin(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/login", a.login)
	mux.HandleFunc("GET /auth/callback", a.callback)
	mux.HandleFunc("POST /auth/logout", a.logout)
}

// requestedSlug returns the slug of the tenant r asks for by header or
// subdomain (TENANT_RESOLUTION), or "".
func (a *Authenticator) requestedSlug(r *http.Request) string {
	t := a.cfg.Tenancy
	if t.Resolution == config.TenantFromSubdomain {
		return tenancy.SlugFromSubdomain(r.Host, t.BaseDomain)
	}
	return strings.TrimSpace(r.Header.Get(t.Header))
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", h != ""
	}
	return strings.TrimSpace(token), true
}

// Middleware authenticates every request to api (the mux of /api/v1/) and
// passes it to next, which serves api, with the Principal, the tenant and
// the log attributes in its context. It charges the rate limits first, all
// in one Redis round trip: ip, then api_key for a key, and expensive when
// the route api would call is a ratelimit.Expensive route.
func (a *Authenticator) Middleware(api *http.ServeMux) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route, pattern := api.Handler(r)
			rq := request{
				a: a, w: w, r: r,
				expensive: pattern != "" && ratelimit.IsExpensive(route),
				needs:     tenantNeeded,
				checks:    []ratelimit.Check{{Class: ratelimit.IP, Subject: a.limiter.ClientIP(r).String()}},
			}
			switch {
			case pattern == "":
				// 404 or 405 follows, past the credentials and the tenant
				// if one is named.
				rq.needs = tenantOptional
			case a.public[pattern]:
				rq.needs = tenantPublic
			case a.account[pattern]:
				rq.needs = tenantOptional
			}
			// ctx is r.Context() with the session, the principal and the
			// tenant added.
			ctx, ok := rq.authenticate()
			if !ok {
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx)) //nolint:contextcheck // see ctx above

		})
	}
}

// tenantNeed says what a route needs.
type tenantNeed int

const (
	tenantNeeded   tenantNeed = iota // a module route: principal and tenant
	tenantOptional                   // an account route (or none matched): principal, tenant if asked for
	tenantPublic                     // no credentials needed
)

// request is one request being authenticated.
type request struct {
	a         *Authenticator
	w         http.ResponseWriter
	r         *http.Request
	expensive bool
	needs     tenantNeed
	checks    []ratelimit.Check
}

// authenticate returns the context to serve the request with, or answers
// it and returns false.
func (rq *request) authenticate() (context.Context, bool) {
	a, r := rq.a, rq.r
	if token, ok := bearer(r); ok {
		return rq.apiKey(token)
	}
	if a.sessions.hasCookie(r) {
		ctx, err := a.sessions.load(r.Context(), r)
		if err != nil {
			sessionFailed(rq.w, r, a.logger, err)
			return nil, false
		}
		if user, ok := a.sessions.user(ctx); ok {
			return rq.session(ctx, user)
		}
		// A cookie without a signed-in user: a sign-in in progress, or a
		// session that expired. The request is anonymous.
	}
	if !a.limiter.Allow(rq.w, r, rq.checks...) {
		return nil, false
	}
	if rq.needs == tenantPublic {
		return r.Context(), true
	}
	unauthenticated(rq.w, r)
	return nil, false
}

// apiKey authenticates the request by its API key.
func (rq *request) apiKey(token string) (context.Context, bool) {
	a, w, r := rq.a, rq.w, rq.r
	prefix, wellFormed := keyPrefix(token)
	if wellFormed {
		rq.checks = append(rq.checks, ratelimit.Check{Class: ratelimit.APIKey, Subject: prefix})
		if rq.expensive {
			rq.checks = append(rq.checks, ratelimit.Check{Class: ratelimit.Expensive, Subject: "key:" + prefix})
		}
	}
	if !a.limiter.Allow(w, r, rq.checks...) {
		return nil, false
	}
	key, err := a.keys.Authenticate(r.Context(), token)
	if errors.Is(err, ErrInvalidKey) {
		unauthenticated(w, r)
		return nil, false
	}
	if err != nil {
		rq.unavailable("authenticate API key", err)
		return nil, false
	}
	if slug := a.requestedSlug(r); slug != "" {
		t, err := a.resolver.BySlug(r.Context(), slug)
		if errors.Is(err, tenancy.ErrUnknownTenant) || (err == nil && t.ID != key.Tenant.ID) {
			tenantNotFound(w, r)
			return nil, false
		}
		if err != nil {
			rq.unavailable("resolve tenant", err)
			return nil, false
		}
	}
	p := Principal{APIKeyID: key.ID, TenantID: key.Tenant.ID, Role: key.Role}
	ctx := logging.Add(r.Context(), slog.String("api_key_id", key.ID.String()))
	return rq.finish(ctx, p, &key.Tenant, "key:"+prefix), true
}

// session authenticates the request by the signed-in user of its session
// and picks the tenant among the user's memberships.
func (rq *request) session(ctx context.Context, user uuid.UUID) (context.Context, bool) {
	a, w, r := rq.a, rq.w, rq.r
	if rq.expensive {
		rq.checks = append(rq.checks, ratelimit.Check{Class: ratelimit.Expensive, Subject: "user:" + user.String()})
	}
	if !a.limiter.Allow(w, r, rq.checks...) {
		return nil, false
	}
	// A cookie rides along with every request a browser makes, whichever
	// site made it: refuse state-changing requests from other origins.
	if err := a.csrf.Check(r); err != nil {
		httpx.Error(w, r, http.StatusForbidden, "cross_origin", "cross-origin request refused")
		return nil, false
	}
	if err := a.sessions.keepAlive(ctx, w); err != nil {
		// The session still works until its idle deadline.
		a.logger.WarnContext(ctx, "keep session alive", slog.Any("error", err))
	}
	p := Principal{UserID: user}
	var tenant *tenancy.Tenant
	if rq.needs != tenantPublic {
		ms, err := a.members.Of(ctx, user)
		if err != nil {
			rq.unavailable("read memberships", err)
			return nil, false
		}
		m, found, ok := rq.chooseTenant(ctx, ms)
		if !ok {
			return nil, false
		}
		if found {
			tenant = &tenancy.Tenant{ID: m.TenantID, Slug: m.Slug, Name: m.Name}
			p.TenantID, p.Role = m.TenantID, m.Role
		} else if rq.needs == tenantNeeded {
			httpx.Error(w, r, http.StatusBadRequest, "tenant_required",
				"choose a tenant: send its slug in the "+a.cfg.Tenancy.Header+" header (or use its subdomain), or select one with PUT /api/v1/me/tenant")
			return nil, false
		}
	}
	ctx = logging.Add(ctx, slog.String("user_id", user.String()))
	return rq.finish(ctx, p, tenant, "user:"+user.String()), true
}

// chooseTenant picks the request's tenant among ms: the one asked for by
// header or subdomain (404 when the user is not a member of it), else the
// one selected in the session, else the user's only one. found is false
// when none applies; ok is false when the request was answered.
func (rq *request) chooseTenant(ctx context.Context, ms []Membership) (m Membership, found, ok bool) {
	a, w, r := rq.a, rq.w, rq.r
	if slug := a.requestedSlug(r); slug != "" {
		t, err := a.resolver.BySlug(ctx, slug)
		if err != nil && !errors.Is(err, tenancy.ErrUnknownTenant) {
			rq.unavailable("resolve tenant", err)
			return Membership{}, false, false
		}
		if m, found = membershipOf(ms, t.ID); err != nil || !found {
			tenantNotFound(w, r)
			return Membership{}, false, false
		}
		return m, true, true
	}
	if id, selected := a.sessions.selectedTenant(ctx); selected {
		if m, found = membershipOf(ms, id); found {
			return m, true, true
		}
	}
	if len(ms) == 1 {
		return ms[0], true, true
	}
	return Membership{}, false, true
}

// finish puts the principal, the tenant and the rate-limit subject in ctx.
func (rq *request) finish(ctx context.Context, p Principal, tenant *tenancy.Tenant, subject string) context.Context {
	ctx = WithPrincipal(ctx, p)
	if tenant != nil {
		ctx = tenancy.WithTenant(ctx, *tenant)
		ctx = logging.Add(ctx, slog.String("tenant_id", tenant.ID.String()))
	}
	ctx = ratelimit.WithSubject(ctx, subject)
	if rq.expensive {
		ctx = ratelimit.WithExpensiveCharged(ctx)
	}
	return ctx
}

// unavailable answers a failure to read identity (the database is down:
// 503 with Retry-After; see httpx.ServerError).
func (rq *request) unavailable(what string, err error) {
	httpx.ServerError(rq.w, rq.r, rq.a.logger, what, err)
}

// tenantNotFound answers a tenant the principal may not see exactly like
// one that does not exist.
func tenantNotFound(w http.ResponseWriter, r *http.Request) {
	httpx.Error(w, r, http.StatusNotFound, "tenant_not_found", "no tenant with this slug is yours")
}
