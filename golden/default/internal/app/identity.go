package app

import (
	"context"

	"shop/internal/platform/auth"
	"shop/internal/platform/ratelimit"
	"shop/internal/platform/redisx"
	"shop/internal/platform/tenancy"
)

// publicRoutes are the patterns of the API (/api/v1/…) served without
// credentials, such as "GET /api/v1/status". Every other route answers 401
// to a request without a session or an API key. Keep this list short.
var publicRoutes = []string{}

// identity builds Redis, the sessions, the rate limiter and the
// authenticator.
func (a *App) identity() error {
	client, err := redisx.New(a.Config.Redis)
	if err != nil {
		return err
	}
	a.Redis = client
	store, closeStore := auth.NewSessionStore(client, a.Config.Redis.KeyPrefix, a.Pool)
	a.closeStore = closeStore
	sessions, err := auth.NewSessions(a.Config.Session, a.Config.Env, store, a.Registry)
	if err != nil {
		return err
	}
	a.limiter, err = ratelimit.New(client, a.Config.Redis.KeyPrefix, a.Config.RateLimit, a.Config.TrustedProxies, a.Registry, a.Logger)
	if err != nil {
		return err
	}
	a.Auth = auth.New(auth.Options{
		Config:   a.Config,
		Pool:     a.Pool,
		Sessions: sessions,
		Limiter:  a.limiter,
		Resolver: tenancy.NewResolver(a.Pool, tenantCacheTTL),
		Logger:   a.Logger,
		Public:   publicRoutes,
	})
	return nil
}

// closeIdentity releases what identity built, in reverse order.
func (a *App) closeIdentity(ctx context.Context) {
	if a.Auth != nil {
		a.Auth.Close(ctx)
	}
	if a.closeStore != nil {
		a.closeStore()
	}
	if a.Redis != nil {
		_ = a.Redis.Close()
	}
}
