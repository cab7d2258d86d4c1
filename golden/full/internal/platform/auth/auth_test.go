package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/acme/acme/internal/platform/auth"
	"github.com/acme/acme/internal/platform/auth/authtest"
	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/database/dbtest"
	"github.com/acme/acme/internal/platform/redisx/redistest"
	"github.com/acme/acme/internal/platform/tenancy"
)

// TestLastOwnerCannotGoUnderConcurrency: two owners demote each other at
// the same moment; the database lets exactly one through, so the tenant
// keeps an owner. The second transaction starts while the first is still
// open, which is exactly when a check without the lock sees two owners.
func TestLastOwnerCannotGoUnderConcurrency(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	e := authtest.New(t, db)
	tenant := e.Tenant(t, "pair")
	ann, bea := e.User(t, "ann@example.com"), e.User(t, "bea@example.com")
	e.Member(t, tenant, ann, auth.RoleOwner)
	e.Member(t, tenant, bea, auth.RoleOwner)
	ctx := t.Context()

	for _, change := range []struct {
		name string
		sql  string
	}{
		{"demote", `UPDATE memberships SET role = 'admin' WHERE user_id = $1`},
		{"remove", `DELETE FROM memberships WHERE user_id = $1`},
	} {
		t.Run(change.name, func(t *testing.T) {
			first, err := db.AppPool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Rollback(context.WithoutCancel(ctx))
			if _, err := first.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenant.String()); err != nil {
				t.Fatal(err)
			}
			if _, err := first.Exec(ctx, change.sql, ann); err != nil {
				t.Fatalf("first %s: %v", change.name, err)
			}
			second := make(chan error, 1)
			go func() {
				_, err := tenancy.Exec(ctx, db.AppPool, tenant, change.sql, bea)
				second <- err
			}()
			select {
			case err := <-second:
				t.Fatalf("the second %s finished (%v) while the first was open: nothing serialises them", change.name, err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := first.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-second; err == nil || !strings.Contains(err.Error(), "at least one owner") {
				t.Fatalf("second %s after the first committed: %v; want the last-owner refusal", change.name, err)
			}
			var owners int
			if err := db.OwnerPool.QueryRow(ctx, `SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = 'owner'`, tenant).Scan(&owners); err != nil || owners != 1 {
				t.Fatalf("%d owners left (%v), want 1", owners, err)
			}
			// Restore two owners for the next case.
			if _, err := db.OwnerPool.Exec(ctx, `INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')
				ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = 'owner'`, tenant, ann); err != nil {
				t.Fatal(err)
			}
		})
	}
	// One owner alone can neither leave nor be demoted; the helpers say so.
	if _, err := tenancy.Exec(ctx, db.OwnerPool, tenant, `DELETE FROM memberships WHERE user_id = $1`, ann); err != nil {
		t.Fatal(err)
	}
	if err := auth.RemoveMember(ctx, db.AppPool, tenant, bea); !errors.Is(err, auth.ErrLastOwner) {
		t.Errorf("removing the last owner: %v, want ErrLastOwner", err)
	}
	if _, err := auth.SetRole(ctx, db.AppPool, tenant, bea, auth.RoleMember); !errors.Is(err, auth.ErrLastOwner) {
		t.Errorf("demoting the last owner: %v, want ErrLastOwner", err)
	}
}

// TestCrossTenantPathsAreTheDocumentedOnes: the only functions that run
// with their owner's rights are the three identity functions, each with a
// pinned search_path and not executable by PUBLIC; and the app role cannot
// read another tenant's memberships or keys by itself.
func TestCrossTenantPathsAreTheDocumentedOnes(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	rows, _ := db.OwnerPool.Query(t.Context(), `
		SELECT p.proname, coalesce(array_to_string(p.proconfig, ','), ''),
		       has_function_privilege('public', p.oid, 'EXECUTE') OR EXISTS (
		           SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
		FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace AND p.prosecdef
		ORDER BY 1`)
	type definer struct {
		Name, Config string
		Public       bool
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[definer])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
		if !strings.Contains(d.Config, "search_path=") || !strings.HasSuffix(d.Config, "pg_temp") {
			t.Errorf("%s: search_path not pinned with pg_temp last: %q", d.Name, d.Config)
		}
		if d.Public {
			t.Errorf("%s: PUBLIC may execute it", d.Name)
		}
	}
	if want := []string{"identity_api_key", "identity_create_tenant", "identity_user_memberships"}; !slices.Equal(names, want) {
		t.Errorf("SECURITY DEFINER functions = %v, want exactly %v", names, want)
	}

	e := authtest.New(t, db)
	a, b := e.Tenant(t, "ta"), e.Tenant(t, "tb")
	u := e.User(t, "u@example.com")
	e.Member(t, b, u, auth.RoleMember)
	e.APIKey(t, b, auth.RoleMember)
	var n int
	err = tenancy.Query(t.Context(), db.AppPool, a, func(r pgx.Rows) error {
		var err error
		n, err = pgx.CollectExactlyOneRow(r, pgx.RowTo[int])
		return err
	}, `SELECT (SELECT count(*) FROM memberships) + (SELECT count(*) FROM api_keys)`)
	if err != nil || n != 0 {
		t.Errorf("the app role in tenant A sees %d of B's memberships and keys (%v)", n, err)
	}
}

// TestSessionsInProductionMustBeShared: a process-local store is refused in
// production and accepted elsewhere; the shared store is accepted.
func TestSessionsInProductionMustBeShared(t *testing.T) {
	t.Parallel()
	cfg := config.Session{Lifetime: time.Hour, IdleTimeout: time.Minute, CookieName: "session"}
	if _, err := auth.NewSessions(cfg, config.Production, memstore.NewWithCleanupInterval(0), prometheus.NewRegistry()); err == nil || !strings.Contains(err.Error(), "shared store") {
		t.Errorf("memory store in production: %v, want a refusal", err)
	}
	if _, err := auth.NewSessions(cfg, config.Development, memstore.NewWithCleanupInterval(0), prometheus.NewRegistry()); err != nil {
		t.Errorf("memory store in development: %v", err)
	}
	db := dbtest.New(t)
	rd := redistest.New(t)
	store, closeStore := auth.NewSessionStore(rd.Client, rd.Config.KeyPrefix, db.AppPool)
	t.Cleanup(closeStore)
	if _, err := auth.NewSessions(cfg, config.Production, store, prometheus.NewRegistry()); err != nil {
		t.Errorf("the project's store in production: %v", err)
	}
}

// TestSessionCookie: outside development the cookie is Secure; always
// HttpOnly, SameSite=Lax and Path=/.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	rd := redistest.New(t)
	store, closeStore := auth.NewSessionStore(rd.Client, rd.Config.KeyPrefix, db.AppPool)
	t.Cleanup(closeStore)
	for env, secure := range map[config.Environment]bool{config.Production: true, config.Test: true, config.Development: false} {
		// Production also requires a signing key for file:// links.
		cfg, err := config.Load([]string{"DATABASE_URL=" + db.AppURL, "APP_ENV=" + string(env), "BLOB_SIGNING_KEY=" + strings.Repeat("k", 32)})
		if err != nil {
			t.Fatal(err)
		}
		sessions, err := auth.NewSessions(cfg.Session, cfg.Env, store, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		a := auth.New(auth.Options{Config: cfg, Pool: db.AppPool, Sessions: sessions, Resolver: tenancy.NewResolver(db.AppPool, 0), Logger: discard()})
		t.Cleanup(func() { a.Close(context.Background()) })
		mux := http.NewServeMux()
		a.RegisterLogin(mux)
		token, err := sessions.Issue(t.Context(), uuid.New())
		if err != nil {
			t.Fatal(err)
		}
		// Signing out writes the cookie (expired) with the same flags as
		// signing in.
		req := httptest.NewRequest("POST", "/auth/logout", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: token})
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		c := rec.Result().Cookies()
		if rec.Code != 204 || len(c) != 1 {
			t.Fatalf("%s: logout %d, cookies %v", env, rec.Code, c)
		}
		if c[0].Secure != secure || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode || c[0].Path != "/" {
			t.Errorf("%s: cookie %+v; want Secure=%v, HttpOnly, SameSite=Lax, Path=/", env, c[0], secure)
		}
	}
}

func discard() *slog.Logger { return authtest.Logger() }

// TestSessionStoreFailures: a session that cannot be read answers 503
// session_store_unavailable and counts in session_store_errors_total{op}.
func TestSessionStoreFailures(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	closed := db.Pool(t, db.AppURL, nil)
	closed.Close()
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	store, closeStore := auth.NewSessionStore(down, "x:", closed)
	t.Cleanup(closeStore)
	cfg, err := config.Load([]string{"DATABASE_URL=" + db.AppURL, "APP_ENV=test"})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sessions, err := auth.NewSessions(cfg.Session, cfg.Env, store, reg)
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Options{Config: cfg, Pool: db.AppPool, Sessions: sessions, Resolver: tenancy.NewResolver(db.AppPool, 0), Logger: discard()})
	t.Cleanup(func() { a.Close(context.Background()) })
	api := http.NewServeMux()
	a.RegisterAPI(api)
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: "some-token"})
	rec := httptest.NewRecorder()
	a.Middleware(api)(api).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "session_store_unavailable") {
		t.Errorf("session store down: %d %s; want 503 session_store_unavailable", rec.Code, rec.Body)
	}
	if n := storeErrors(t, reg, "find"); n != 1 {
		t.Errorf("session_store_errors_total{op=find} = %v, want 1", n)
	}
}

// storeErrors returns session_store_errors_total{op} in reg.
func storeErrors(t *testing.T, reg *prometheus.Registry, op string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "session_store_errors_total" && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == op {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("session_store_errors_total{op=%q} is not registered", op)
	return 0
}
