// Package app is the composition root: the one place that builds the
// platform (configuration, logging, database, HTTP) and mounts every module.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"shop/internal/platform/auth"
	"shop/internal/platform/config"
	"shop/internal/platform/database"
	"shop/internal/platform/database/querycount"
	"shop/internal/platform/httpx"
	"shop/internal/platform/logging"
	"shop/internal/platform/metrics"
	"shop/internal/platform/module"
	"shop/internal/platform/ratelimit"
)

// tenantCacheTTL is how long a resolved tenant is remembered per instance.
const tenantCacheTTL = 30 * time.Second

// App is the assembled application.
type App struct {
	Config   *config.Config
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Registry *prometheus.Registry
	// Redis serves the rate limits and the sessions.
	Redis *redis.Client
	// Auth authenticates requests and serves sign-in and the identity API.
	Auth *auth.Authenticator

	limiter    *ratelimit.Limiter
	closeStore func()
	// Handler serves every route, wrapped in the platform middleware.
	Handler http.Handler
}

// New builds the application from a validated configuration. Close
// releases what it opened.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	return build(ctx, cfg, logger, installedModules())
}

func build(ctx context.Context, cfg *config.Config, logger *slog.Logger, modules []module.Definition) (*App, error) {
	pc, err := database.PoolConfig(cfg.Database)
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.Tracer = querycount.Tracer{}
	pool, err := database.Open(ctx, pc)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Logger: logger, Pool: pool, Registry: metrics.NewRegistry()}
	if err := a.identity(); err != nil {
		a.Close()
		return nil, err
	}
	if a.Handler, err = a.routes(modules); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) routes(modules []module.Definition) (http.Handler, error) {
	queryMetrics, err := querycount.NewMetrics(a.Registry)
	if err != nil {
		return nil, err
	}

	api := http.NewServeMux()
	a.Auth.RegisterAPI(api)
	seen := map[string]bool{}
	for _, m := range modules {
		if seen[m.Name] {
			return nil, fmt.Errorf("app: module %q is installed twice", m.Name)
		}
		seen[m.Name] = true
		if m.Register == nil {
			continue
		}
		deps := module.Deps{Pool: a.Pool, Logger: a.Logger.With(slog.String("module", m.Name)), Config: a.Config, Limiter: a.limiter}
		if err := m.Register(api, deps); err != nil {
			return nil, fmt.Errorf("app: register module %s: %w", m.Name, err)
		}
	}
	tenantAPI := a.Auth.Middleware(api)(
		querycount.Middleware(a.Config.QueryBudget, a.Logger, queryMetrics)(
			logging.RecordRoute(httpx.JSONFallback(api))))

	root := http.NewServeMux()
	root.HandleFunc("GET /livez", httpx.Livez)
	root.HandleFunc("GET /readyz", httpx.Readyz(a.ready, a.Logger))
	root.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
	root.Handle(module.APIPrefix, tenantAPI)
	a.Auth.RegisterLogin(root)

	var h http.Handler = logging.RecordRoute(httpx.JSONFallback(root))
	h = httpx.Recover(a.Logger)(h)
	h = httpx.WithRequestID(h)
	h = logging.Middleware(a.Logger)(h)
	return h, nil
}

// Close releases what New opened: identity first (it writes the API keys'
// last uses), then Redis and the database pool.
func (a *App) Close() {
	a.closeIdentity()
	a.Pool.Close()
}

// Migrations returns the platform migrations merged with those of every
// installed module.
func Migrations() (fs.FS, error) {
	return migrations(installedModules())
}

func migrations(modules []module.Definition) (fs.FS, error) {
	sources := []database.MigrationSource{database.PlatformMigrations()}
	for _, m := range modules {
		sources = append(sources, database.MigrationSource{Name: "module " + m.Name, FS: m.Migrations})
	}
	return database.MergeMigrations(sources...)
}
