// Package config loads and validates the application's settings from
// environment variables.
//
// The Config struct is the single source of truth: its `env`, `envDefault`
// and `desc` tags drive parsing, the `config` subcommand, .env.example and the
// table of variables in README.md (tests keep both files in sync); an
// `example` tag sets the value written to .env.example. Add a
// setting by adding a field with all three tags; group related settings in a
// nested struct with an `envPrefix` tag.
package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5/pgconn"
)

// Config is the complete configuration of the application.
type Config struct {
	Env      Environment `env:"APP_ENV" envDefault:"development" desc:"Deployment environment, for logs and for code that must behave differently in production."`
	LogLevel slog.Level  `env:"LOG_LEVEL" envDefault:"info" desc:"Minimum level of log records written to stdout."`
	HTTP     HTTP        `envPrefix:"HTTP_"`
	Database Database    `envPrefix:"DATABASE_"`
	Metrics  Metrics     `envPrefix:"METRICS_"`
	Migrate  Migrate     `envPrefix:"MIGRATE_"`
	// Tenancy's types and cross-checks live in tenancy.go.
	Tenancy     Tenancy `envPrefix:"TENANT_"`
	QueryBudget int     `env:"QUERY_BUDGET" envDefault:"5" desc:"Database round trips a request may make before a warning is logged and db_query_budget_exceeded_total is incremented."`
	PublicURL   string  `env:"PUBLIC_URL" envDefault:"http://localhost:8080" accepts:"an absolute http(s) URL without a trailing slash" desc:"Absolute base URL of this service as clients reach it; links the service hands out (signed downloads) start with it."`
	// Jobs, Blob and Upload's types and checks live in jobs.go and storage.go.
	Jobs   Jobs   `envPrefix:"JOBS_"`
	Blob   Blob   `envPrefix:"BLOB_"`
	Upload Upload `envPrefix:"UPLOAD_"`
	// Identity: sessions, sign-in, rate limits. Types and cross-checks
	// live in identity.go.
	Redis          Redis      `envPrefix:"REDIS_"`
	Session        Session    `envPrefix:"SESSION_"`
	OIDC           OIDC       `envPrefix:"OIDC_"`
	RateLimit      RateLimits `envPrefix:"RATE_LIMIT_"`
	TrustedProxies Proxies    `env:"TRUSTED_PROXIES" envDefault:"" desc:"Proxies and load balancers whose X-Forwarded-For header is believed for the client IP address; empty trusts none."`
	// Sentry reports errors; traces are configured by the OpenTelemetry
	// SDK's own OTEL_* variables (see package telemetry).
	Sentry Sentry `envPrefix:"SENTRY_"`
}

// HTTP configures the HTTP server.
type HTTP struct {
	Addr            string        `env:"ADDR" envDefault:":8080" desc:"Address the HTTP server listens on."`
	ReadTimeout     time.Duration `env:"READ_TIMEOUT" envDefault:"10s" desc:"Maximum duration for reading an entire request, including the body."`
	WriteTimeout    time.Duration `env:"WRITE_TIMEOUT" envDefault:"30s" desc:"Maximum duration before timing out writes of a response."`
	IdleTimeout     time.Duration `env:"IDLE_TIMEOUT" envDefault:"120s" desc:"Maximum time to wait for the next request on a keep-alive connection."`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s" desc:"Grace period after SIGTERM: in-flight requests get this long to finish, then they are cancelled and the process exits at most 2s later."`
}

// Database configures the application's connection pool. The URL names the
// application role, which must not own the tables (row-level security does
// not apply to owners) and must not be a superuser.
type Database struct {
	URL               string        `env:"URL,required" secret:"true" accepts:"a PostgreSQL URL: postgres://user:password@host:5432/dbname" example:"postgres://shop_app:shop_app@127.0.0.1:5432/shop?sslmode=disable" desc:"PostgreSQL URL of the application role (not the owner) used by serve."`
	MaxConns          int32         `env:"MAX_CONNS" envDefault:"20" desc:"Maximum connections in the pool of each instance."`
	MinConns          int32         `env:"MIN_CONNS" envDefault:"10" desc:"Connections each instance keeps open when idle."`
	MaxConnLifetime   time.Duration `env:"MAX_CONN_LIFETIME" envDefault:"1h" desc:"Connections older than this are closed and replaced."`
	MaxConnIdleTime   time.Duration `env:"MAX_CONN_IDLE_TIME" envDefault:"30m" desc:"Idle connections above MIN_CONNS are closed after this time."`
	HealthCheckPeriod time.Duration `env:"HEALTH_CHECK_PERIOD" envDefault:"1m" desc:"How often idle connections are checked."`
	QueryExecMode     QueryExecMode `env:"QUERY_EXEC_MODE" envDefault:"cache_statement" desc:"pgx query execution mode; use exec or simple_protocol behind PgBouncer in transaction mode."`
	ConnectTimeout    time.Duration `env:"CONNECT_TIMEOUT" envDefault:"5s" desc:"Time allowed to open one database connection, for every command; overrides connect_timeout in the URLs."`
	StatementTimeout  time.Duration `env:"STATEMENT_TIMEOUT" envDefault:"15s" desc:"Longest a statement of the app role may run, lock waits included; migrate up sets it on the role (ALTER ROLE ... SET statement_timeout), so it holds directly and behind PgBouncer."`
}

// Metrics configures the listener of the Prometheus endpoint, which is kept
// off the public one.
type Metrics struct {
	Addr string `env:"ADDR" envDefault:":9464" desc:"Address of the listener serving GET /metrics (Prometheus); never exposed on HTTP_ADDR."`
	// TenantLabels multiplies the series of http_requests_total by the
	// number of active tenants: keep it off beyond a few dozen tenants.
	TenantLabels bool `env:"TENANT_LABELS" envDefault:"false" desc:"Adds a tenant label (the tenant id) to http_requests_total; every route and status class then has one series per active tenant, so keep it off beyond a few dozen tenants."`
}

// Sentry configures error reporting.
type Sentry struct {
	DSN string `env:"DSN" envDefault:"" secret:"true" accepts:"a Sentry DSN: https://public-key@host/project-id" desc:"Sentry project to report panics, 5xx errors and failed jobs to, with request, user and tenant context; empty reports nothing."`
}

// Migrate configures the migrate subcommand.
type Migrate struct {
	DatabaseURL string `env:"DATABASE_URL" envDefault:"" secret:"true" accepts:"a PostgreSQL URL: postgres://owner:password@host:5432/dbname" example:"postgres://postgres@127.0.0.1:5432/shop?sslmode=disable" desc:"PostgreSQL URL of the schema owner; used only by migrate, which also creates and grants the role of DATABASE_URL."`
}

// Load parses and validates the configuration from environ, a list of
// KEY=value pairs as returned by os.Environ. Every problem is reported in a
// single *ValidationError.
func Load(environ []string) (*Config, error) {
	vars, err := Variables()
	if err != nil {
		return nil, err
	}
	values := toMap(environ)

	var problems []Problem
	for _, v := range vars {
		if p, ok := v.check(values); !ok {
			problems = append(problems, p)
		}
	}

	var cfg Config
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: values}); err != nil && len(problems) == 0 {
		return nil, fmt.Errorf("config: %w", err)
	}

	failed := make(map[string]bool, len(problems))
	for _, p := range problems {
		failed[p.Name] = true
	}
	for _, p := range cfg.validate(values, failed) {
		if !failed[p.Name] {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		secret := make(map[string]bool)
		for _, v := range vars {
			secret[v.Name] = v.Secret
		}
		for i := range problems {
			problems[i].Secret = secret[problems[i].Name]
		}
		return nil, &ValidationError{Problems: problems}
	}
	return &cfg, nil
}

// RequireMigrate reports whether the settings needed by the migrate
// subcommand are present and valid.
func (c *Config) RequireMigrate() error {
	if c.Migrate.DatabaseURL == "" {
		return &ValidationError{Problems: []Problem{{
			Name:     "MIGRATE_DATABASE_URL",
			Reason:   "is required by migrate",
			Accepted: "a PostgreSQL URL of the role that owns the schema",
		}}}
	}
	return nil
}

// validate checks what parsing cannot: ranges and combinations. failed
// names the variables that did not parse; checks involving them are skipped.
func (c *Config) validate(values map[string]string, failed map[string]bool) []Problem {
	var problems []Problem
	add := func(name, reason, accepted string) {
		p := Problem{Name: name, Reason: reason, Accepted: accepted}
		if v, ok := values[name]; ok {
			p.Value, p.Set = v, true
		}
		problems = append(problems, p)
	}
	if c.Database.URL != "" {
		if _, err := pgconn.ParseConfig(c.Database.URL); err != nil {
			add("DATABASE_URL", "is not a valid connection string", "a PostgreSQL URL: postgres://user:password@host:5432/dbname")
		}
	}
	if c.Migrate.DatabaseURL != "" {
		if _, err := pgconn.ParseConfig(c.Migrate.DatabaseURL); err != nil {
			add("MIGRATE_DATABASE_URL", "is not a valid connection string", "a PostgreSQL URL: postgres://owner:password@host:5432/dbname")
		}
	}
	if c.Database.MaxConns < 1 {
		add("DATABASE_MAX_CONNS", "must be at least 1", "a positive integer")
	}
	if !failed["DATABASE_MAX_CONNS"] && (c.Database.MinConns < 0 || c.Database.MinConns > c.Database.MaxConns) {
		add("DATABASE_MIN_CONNS", "must be between 0 and DATABASE_MAX_CONNS", fmt.Sprintf("an integer from 0 to %d", max(c.Database.MaxConns, 0)))
	}
	durations := []struct {
		name  string
		value time.Duration
	}{
		{"HTTP_READ_TIMEOUT", c.HTTP.ReadTimeout},
		{"HTTP_WRITE_TIMEOUT", c.HTTP.WriteTimeout},
		{"HTTP_IDLE_TIMEOUT", c.HTTP.IdleTimeout},
		{"HTTP_SHUTDOWN_TIMEOUT", c.HTTP.ShutdownTimeout},
		{"DATABASE_MAX_CONN_LIFETIME", c.Database.MaxConnLifetime},
		{"DATABASE_MAX_CONN_IDLE_TIME", c.Database.MaxConnIdleTime},
		{"DATABASE_HEALTH_CHECK_PERIOD", c.Database.HealthCheckPeriod},
		{"DATABASE_CONNECT_TIMEOUT", c.Database.ConnectTimeout},
		{"DATABASE_STATEMENT_TIMEOUT", c.Database.StatementTimeout},
	}
	for _, d := range durations {
		if d.value <= 0 {
			add(d.name, "must be positive", "a duration greater than zero such as 30s or 5m")
		}
	}
	if d := c.Database.StatementTimeout; d > 0 && d < time.Millisecond {
		// PostgreSQL counts whole milliseconds; 0 would mean no limit.
		add("DATABASE_STATEMENT_TIMEOUT", "must be at least 1ms", "a duration such as 15s")
	}
	problems = append(problems, c.Tenancy.problems(values)...)
	problems = append(problems, queryBudgetProblems(c.QueryBudget, values)...)
	problems = append(problems, c.Jobs.problems(values)...)
	problems = append(problems, storageProblems(c.Env, c.Blob, c.Upload, values)...)
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(c.PublicURL, "/") {
		add("PUBLIC_URL", "must be an absolute http or https URL without a trailing slash", "a URL such as https://api.example.com")
	}
	problems = append(problems, c.identityProblems(values, failed)...)
	if c.Sentry.DSN != "" && !validDSN(c.Sentry.DSN) {
		add("SENTRY_DSN", "is not a Sentry DSN", "a Sentry DSN: https://public-key@host/project-id")
	}
	if c.HTTP.Addr == "" {
		add("HTTP_ADDR", "must not be empty", "host:port or :port, e.g. :8080")
	}
	if c.Metrics.Addr == c.HTTP.Addr {
		add("METRICS_ADDR", "must differ from HTTP_ADDR: metrics are never served on the public listener", "host:port or :port, e.g. :9464")
	}
	return problems
}

func toMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// validDSN reports whether dsn looks like a Sentry DSN: an http(s) URL with
// a public key as user name and the project id as its last path segment.
func validDSN(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User == nil || u.User.Username() == "" {
		return false
	}
	id := u.Path[strings.LastIndex(u.Path, "/")+1:]
	return id != ""
}
