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

	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"example.com/minimal/internal/platform/auth"
	"example.com/minimal/internal/platform/blob"
	"example.com/minimal/internal/platform/config"
	"example.com/minimal/internal/platform/database"
	"example.com/minimal/internal/platform/database/querycount"
	"example.com/minimal/internal/platform/files"
	"example.com/minimal/internal/platform/httpx"
	"example.com/minimal/internal/platform/jobs"
	"example.com/minimal/internal/platform/logging"
	"example.com/minimal/internal/platform/metrics"
	"example.com/minimal/internal/platform/module"
	"example.com/minimal/internal/platform/ratelimit"
	"example.com/minimal/internal/platform/redisx"
	"example.com/minimal/internal/platform/telemetry"
)

// tenantCacheTTL is how long a resolved tenant is remembered per instance.
const tenantCacheTTL = 30 * time.Second

// App is the assembled application.
type App struct {
	Config   *config.Config
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Registry *prometheus.Registry
	// Telemetry traces requests, statements and jobs and reports errors;
	// nil (or off) traces and reports nothing.
	Telemetry *telemetry.Telemetry
	// Jobs is the job queue; Work works it (the worker command, or serve
	// with JOBS_IN_PROCESS=true).
	Jobs *jobs.Queue
	// Blob is the object storage; Files the files kept in it.
	Blob  *blob.Store
	Files *files.Service
	// Redis serves the rate limits and the sessions.
	Redis *redis.Client
	// Auth authenticates requests and serves sign-in and the identity API.
	Auth *auth.Authenticator
	// Handler serves every public route, wrapped in the platform middleware.
	Handler http.Handler
	// Metrics serves GET /metrics, on its own listener (METRICS_ADDR) and
	// never on the public one.
	Metrics http.Handler
	// Drain is started when the server begins to shut down; /readyz then
	// answers 503.
	Drain *httpx.Drain

	limiter    *ratelimit.Limiter
	closeStore func()
}

// New builds the application from a validated configuration, traced and
// reported by tel (nil for neither). Close releases what it opened; tel
// stays the caller's to shut down.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, tel *telemetry.Telemetry) (*App, error) {
	return build(ctx, cfg, logger, tel, installedModules())
}

func build(ctx context.Context, cfg *config.Config, logger *slog.Logger, tel *telemetry.Telemetry, modules []module.Definition) (*App, error) {
	pc, err := database.PoolConfig(cfg.Database)
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.Tracer = querycount.Tracer{}
	if sql := tel.SQLTracer(); sql != nil {
		pc.ConnConfig.Tracer = multitracer.New(querycount.Tracer{}, sql)
	}
	pool, err := database.Open(ctx, pc)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Logger: logger, Pool: pool, Registry: metrics.NewRegistry(), Telemetry: tel, Drain: new(httpx.Drain)}
	if err := a.Registry.Register(database.NewPoolCollector(pool)); err != nil {
		pool.Close()
		return nil, fmt.Errorf("app: register pool metrics: %w", err)
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
	a.Metrics = metricsMux
	if err := a.identity(); err != nil {
		a.Close(ctx)
		return nil, err
	}
	if err := a.background(ctx); err != nil {
		a.Close(ctx)
		return nil, err
	}
	if a.Handler, err = a.routes(modules); err != nil {
		a.Close(ctx)
		return nil, err
	}
	// Every job kind is registered (platform's, then the modules' in
	// routes): the queue can be sealed.
	if err := a.Jobs.Seal(); err != nil {
		a.Close(ctx)
		return nil, err
	}
	return a, nil
}

// background opens the job queue and object storage.
func (a *App) background(ctx context.Context) error {
	var err error
	if a.Blob, err = blob.Open(ctx, a.Config, a.Logger); err != nil {
		return err
	}
	if a.Jobs, err = jobs.New(a.Config, a.Pool, a.Logger, a.Registry); err != nil {
		return err
	}
	if tr := a.Telemetry.Jobs(); tr != nil {
		a.Jobs.Tracing = tr
	}
	a.Files, err = files.New(a.Pool, a.Blob, a.Jobs, a.Config.Upload, a.Logger.With(slog.String("component", "files")))
	return err
}

func (a *App) routes(modules []module.Definition) (http.Handler, error) {
	queryMetrics, err := querycount.NewMetrics(a.Registry)
	if err != nil {
		return nil, err
	}
	httpMetrics, err := metrics.NewHTTP(a.Registry, a.Config.Metrics.TenantLabels)
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
		deps := module.Deps{Pool: a.Pool, Logger: a.Logger.With(slog.String("module", m.Name)), Config: a.Config, Jobs: a.Jobs, Files: a.Files, Limiter: a.limiter}
		if err := m.Register(api, deps); err != nil {
			return nil, fmt.Errorf("app: register module %s: %w", m.Name, err)
		}
	}
	a.Jobs.Register(api)
	a.Files.Register(api)
	tenantAPI := a.Auth.Middleware(api)(
		querycount.Middleware(a.Config.QueryBudget, a.Logger, queryMetrics)(
			logging.RecordRoute(httpx.JSONFallback(api))))

	root := http.NewServeMux()
	root.HandleFunc("GET /livez", httpx.Livez)
	root.HandleFunc("GET /readyz", httpx.Readyz(a.readiness(), a.Drain, a.Logger))
	root.Handle(module.APIPrefix, tenantAPI)
	a.Blob.Register(root)
	a.Auth.RegisterLogin(root)

	return a.platform(root, httpMetrics), nil
}

// healthProbes are the routes of the health probes, whose request lines are
// logged at debug level.
var healthProbes = []string{"GET /livez", "GET /readyz"}

// platform wraps root in the middleware every request goes through, from
// the outside in: the request line (one per request) and its unit of work,
// the request metrics, the trace and Sentry scope, the request id, the
// recovery of panics, and the route recorder.
func (a *App) platform(root *http.ServeMux, m *metrics.HTTP) http.Handler {
	h := logging.RecordRoute(httpx.JSONFallback(root))
	h = httpx.Recover(a.Logger)(h)
	h = httpx.WithRequestID(h)
	h = a.Telemetry.Middleware(h)
	h = m.Middleware(h)
	return logging.Middleware(a.Logger, healthProbes...)(h)
}

// readiness lists what /readyz checks: every dependency the application
// was configured with.
func (a *App) readiness() []httpx.Check {
	return []httpx.Check{
		{Name: "database", Check: func(ctx context.Context) error { return database.Ready(ctx, a.Pool) }},
		{Name: "redis", Check: func(ctx context.Context) error { return redisx.Ready(ctx, a.Redis) }},
		{Name: "queue", Check: a.Jobs.Ready},
		{Name: "storage", Check: a.Blob.Ready},
	}
}

// Work runs the job workers, and schedules the storage's orphan sweeps,
// until ctx is cancelled (see jobs.Queue.Run for the shutdown).
func (a *App) Work(ctx context.Context) error {
	sweeps := make(chan struct{})
	go func() {
		defer close(sweeps)
		a.Files.ScheduleSweeps(ctx)
	}()
	err := a.Jobs.Run(ctx)
	<-sweeps
	return err
}

// closeTimeout bounds Close: the pool waits for its connections to be
// released, and a handler stuck past its cancellation must not keep the
// process alive.
const closeTimeout = time.Second

// Close releases what New opened: identity first (it writes the API keys'
// last uses), the queue's and the storage's connections, then Redis, then
// the database pool, waiting at most closeTimeout for the connections still
// in use.
func (a *App) Close(ctx context.Context) {
	a.closeIdentity(ctx)
	if a.Jobs != nil {
		if err := a.Jobs.Close(); err != nil {
			a.Logger.Warn("close job queue", "error", err)
		}
	}
	if a.Blob != nil {
		if err := a.Blob.Close(); err != nil {
			a.Logger.Warn("close object storage", "error", err)
		}
	}
	closed := make(chan struct{})
	go func() {
		a.Pool.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(closeTimeout):
		a.Logger.Warn("database connections still in use; leaving them to the exit", slog.Int("acquired", int(a.Pool.Stat().AcquiredConns())))
	}
}

// Migrations returns the migrations of every installed module merged into
// one sequence (the platform's are a sequence of their own: see
// database.NewMigrator).
func Migrations() (fs.FS, error) {
	return migrations(installedModules())
}

func migrations(modules []module.Definition) (fs.FS, error) {
	var sources []database.MigrationSource
	for _, m := range modules {
		sources = append(sources, database.MigrationSource{Name: "module " + m.Name, FS: m.Migrations})
	}
	return database.MergeMigrations(sources...)
}
