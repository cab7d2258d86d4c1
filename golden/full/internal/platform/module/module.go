// Package module defines the contract between the composition root
// (internal/app) and the bounded domain modules under internal/modules.
//
// A module exposes exactly one constructor at the root of its package,
//
//	func Module() module.Definition
//
// and keeps its implementation under internal/modules/<name>/internal/, so
// other modules cannot reach into it. The composition root collects every
// Definition (internal/app/modules.go), merges their migrations with the
// platform's, and calls Register once at start-up.
package module

import (
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/files"
	"github.com/acme/acme/internal/platform/jobs"
	"github.com/acme/acme/internal/platform/ratelimit"
)

// APIPrefix is the path prefix of every module route: a module named
// "orders" registers patterns such as "GET /api/v1/orders/{id}".
const APIPrefix = "/api/v1/"

// Deps is what a module may use from the platform. Modules receive their
// dependencies here instead of building their own pools or loggers.
type Deps struct {
	// Pool connects as the application role: row-level security applies.
	Pool *pgxpool.Pool
	// Logger is already scoped to the module (attribute "module").
	Logger *slog.Logger
	// Config is the validated application configuration.
	Config *config.Config
	// Jobs enqueues background jobs (inside the tenant transaction of the
	// write they belong to) and takes the module's job kinds (Handle).
	Jobs *jobs.Queue
	// Files stores files in object storage, described in the files table.
	Files *files.Service
	// Limiter marks expensive routes: register
	// deps.Limiter.Expensive(handler) and each request also counts against
	// RATE_LIMIT_EXPENSIVE for its user or API key. Nil (in tests) limits
	// nothing.
	Limiter *ratelimit.Limiter
}

// Definition describes one module.
type Definition struct {
	// Name is the module's package name, e.g. "orders". It must be unique.
	Name string
	// Migrations holds the module's goose SQL migrations at its root
	// (typically fs.Sub of an embedded migrations directory), or nil.
	// Versions are global across the platform and all modules.
	Migrations fs.FS
	// Register adds the module's HTTP handlers to mux, with patterns under
	// APIPrefix such as "GET /api/v1/orders/{id}", and its job kinds to
	// deps.Jobs ("orders.export"). The composition root serves mux behind
	// the auth middleware, so every handler finds the principal
	// (auth.FromContext) and its tenant (tenancy.FromContext) in the request
	// context, and no request without credentials reaches it. Check roles
	// with auth.Require. It is called once at start-up, by serve and by
	// worker alike; an error stops the application. May be nil.
	Register func(mux *http.ServeMux, deps Deps) error
}
