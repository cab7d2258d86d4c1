// Command shop runs the shop service.
//
//	shop serve                       run the HTTP server (and the job workers with JOBS_IN_PROCESS=true)
//	shop worker                      run the job workers
//	shop migrate up|down|status      manage the database schema (as MIGRATE_DATABASE_URL)
//	shop tenants create|rename|list  manage the tenants (as MIGRATE_DATABASE_URL)
//	shop apikeys create|list|revoke  manage API keys (as MIGRATE_DATABASE_URL)
//	shop members add                 add a member to a tenant (as MIGRATE_DATABASE_URL)
//	shop config [-format F]          list every environment variable
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"

	"shop/internal/app"
	"shop/internal/platform/config"
	"shop/internal/platform/database"
	"shop/internal/platform/httpx"
	"shop/internal/platform/jobs"
	"shop/internal/platform/logging"
	"shop/internal/platform/telemetry"
)

const usage = `usage: shop <command> [arguments]

commands:
  serve                          run the HTTP server until SIGINT or SIGTERM
                                 (and the job workers too when JOBS_IN_PROCESS=true)
  worker                         run the job workers until SIGINT or SIGTERM
  migrate up                     apply pending migrations (and the job queue's), then
                                 create and grant the app role
  migrate down                   roll back the latest migration
  migrate status                 list migrations and whether they are applied
  tenants create SLUG NAME       add a tenant
  tenants rename SLUG NEW-SLUG   give a tenant a new slug; the old one keeps naming it
  tenants list                   list the tenants and their former slugs
  apikeys create|list|revoke     create (shown once), list or revoke a tenant's API keys
  members add                    make a user who signed in once a member of a tenant
  config [-format F]             list every environment variable; F is text, markdown or env

migrate, tenants, apikeys and members connect as the schema owner (MIGRATE_DATABASE_URL).
Settings come from environment variables; see "shop config".
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, environ, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "shop: %s\n\n%s", ue.msg, usage)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "shop: %v\n", err)
		return exitError
	}
}

func dispatch(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"missing command"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		if len(rest) > 0 {
			return usageError{"serve takes no arguments"}
		}
		return serve(ctx, environ, stdout)
	case "worker":
		if len(rest) > 0 {
			return usageError{"worker takes no arguments"}
		}
		return work(ctx, environ, stdout)
	case "migrate":
		if len(rest) != 1 {
			return usageError{"migrate needs exactly one of up, down, status"}
		}
		return migrate(ctx, rest[0], environ, stdout, stderr)
	case "tenants":
		return tenants(ctx, rest, environ, stdout)
	case "config":
		return printConfig(rest, stdout, stderr)
	case "apikeys":
		return apikeys(ctx, rest, environ, stdout, stderr)
	case "members":
		return members(ctx, rest, environ, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func serve(ctx context.Context, environ []string, stdout io.Writer) (err error) {
	cfg, logger, a, err := boot(ctx, environ, stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, shutdown(ctx, a)) }()
	checkDatabase(ctx, a, logger)
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTP.Addr, err)
	}
	// The metrics listener outlives the public one and the workers, so the
	// shutdown can be watched; its failure stops the rest.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	stopMetrics, err := serveMetrics(ctx, a, cfg, logger, stop)
	if err != nil {
		_ = ln.Close()
		return err
	}
	// Workers in this process (JOBS_IN_PROCESS=true): a failure of either
	// half stops both.
	workers := make(chan error, 1)
	if cfg.Jobs.InProcess {
		go func() {
			err := a.Work(ctx)
			if err != nil {
				stop(err)
			}
			workers <- err
		}()
	} else {
		workers <- nil
	}
	err = httpx.Serve(ctx, ln, a.Handler, cfg.HTTP, a.Drain, logger)
	stop(err)
	err = errors.Join(err, <-workers)
	return errors.Join(err, stopMetrics())
}

// boot loads the configuration, starts the telemetry (traces when OTEL_*
// name an endpoint, Sentry when SENTRY_DSN is set), and builds the
// application, logging JSON to stdout.
func boot(ctx context.Context, environ []string, stdout io.Writer) (*config.Config, *slog.Logger, *app.App, error) {
	cfg, err := config.Load(environ)
	if err != nil {
		return nil, nil, nil, err
	}
	tel, err := telemetry.Start(ctx, telemetry.Options{Service: "shop", Environment: string(cfg.Env), SentryDSN: cfg.Sentry.DSN})
	if err != nil {
		return nil, nil, nil, err
	}
	logger := logging.New(stdout, cfg.LogLevel, tel.LogHandler())
	a, err := app.New(ctx, cfg, logger, tel)
	if err != nil {
		return nil, nil, nil, errors.Join(err, tel.Shutdown(context.WithoutCancel(ctx)))
	}
	logger.InfoContext(ctx, "telemetry", slog.Bool("tracing", tel.Tracing()), slog.Bool("sentry", tel.Reporting()))
	return cfg, logger, a, nil
}

// shutdown closes a, then exports the spans and error events still
// buffered, for at most httpx.CancelMargin: an unreachable collector must
// not hold the exit.
func shutdown(ctx context.Context, a *app.App) error {
	a.Close(ctx)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpx.CancelMargin)
	defer cancel()
	return a.Telemetry.Shutdown(ctx)
}

// serveMetrics serves the metrics registry on METRICS_ADDR, never on the
// public listener, until the returned function is called; that function
// stops it and returns its error. A failure of the listener calls fail.
func serveMetrics(ctx context.Context, a *app.App, cfg *config.Config, logger *slog.Logger, fail context.CancelCauseFunc) (func() error, error) {
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.Metrics.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on METRICS_ADDR %s: %w", cfg.Metrics.Addr, err)
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		err := httpx.ServeInternal(mctx, ln, a.Metrics, cfg.HTTP, logger)
		if err != nil {
			fail(err)
		}
		done <- err
	}()
	return func() error {
		cancel()
		return <-done
	}, nil
}

// checkDatabase logs what serve finds wrong with the database at start:
// unreachable (/readyz answers 503 until it is reachable), or a statement
// timeout other than DATABASE_STATEMENT_TIMEOUT (migrate up sets it).
func checkDatabase(ctx context.Context, a *app.App, logger *slog.Logger) {
	if err := database.Ready(ctx, a.Pool); err != nil {
		logger.WarnContext(ctx, "database not reachable yet; /readyz reports 503 until it is", "error", err)
		return
	}
	got, err := database.StatementTimeout(ctx, a.Pool)
	if err != nil {
		logger.WarnContext(ctx, "cannot check the statement timeout", "error", err)
		return
	}
	if want := a.Config.Database.StatementTimeout; got != want {
		logger.WarnContext(ctx, "the app role's statement timeout is not DATABASE_STATEMENT_TIMEOUT; run migrate up to set it",
			slog.Duration("statement_timeout", got), slog.Duration("DATABASE_STATEMENT_TIMEOUT", want))
	}
}

// work runs the job workers until ctx is cancelled (SIGINT or SIGTERM),
// then lets running jobs finish within JOBS_SHUTDOWN_TIMEOUT. Its metrics
// (queue depth, job outcomes) are served on METRICS_ADDR.
func work(ctx context.Context, environ []string, stdout io.Writer) (err error) {
	cfg, logger, a, err := boot(ctx, environ, stdout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, shutdown(ctx, a)) }()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	stopMetrics, err := serveMetrics(ctx, a, cfg, logger, stop)
	if err != nil {
		return err
	}
	err = a.Work(ctx)
	return errors.Join(err, stopMetrics())
}

func migrate(ctx context.Context, direction string, environ []string, stdout, stderr io.Writer) error {
	if direction != "up" && direction != "down" && direction != "status" {
		return usageError{fmt.Sprintf("unknown migrate direction %q: use up, down or status", direction)}
	}
	cfg, owner, err := ownerConfig(environ)
	if err != nil {
		return err
	}
	logger := logging.New(stderr, cfg.LogLevel)
	fsys, err := app.Migrations()
	if err != nil {
		return err
	}
	m, err := database.NewMigrator(owner, fsys, logger)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()

	switch direction {
	case "up":
		res, err := m.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(stdout, "applied %s (%s)\n", r.Source.Path, r.Duration)
		}
		if err != nil {
			return err
		}
		if len(res) == 0 {
			fmt.Fprintln(stdout, "no pending migrations")
		}
		conn, err := connectOwner(ctx, owner)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
		queue, err := jobs.MigrateBackend(ctx, cfg.Migrate.DatabaseURL)
		if err != nil {
			return err
		}
		for _, line := range queue {
			fmt.Fprintf(stdout, "applied %s\n", line)
		}
		settings := database.RoleSettings{StatementTimeout: cfg.Database.StatementTimeout}
		if err := database.EnsureAppRole(ctx, conn, cfg.Database.URL, settings); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "app role of DATABASE_URL is ready\n")
		return nil
	case "down":
		r, err := m.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rolled back %s\n", r.Source.Path)
		return nil
	default:
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		for _, s := range st {
			applied := "-"
			if !s.AppliedAt.IsZero() {
				applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Source.Version, s.State, applied, s.Source.Path)
		}
		return tw.Flush()
	}
}

// ownerConfig loads the configuration of a command that connects as the
// schema owner (migrate, tenants).
func ownerConfig(environ []string) (*config.Config, *pgx.ConnConfig, error) {
	cfg, err := config.Load(environ)
	if err != nil {
		return nil, nil, err
	}
	owner, err := database.OwnerConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, owner, nil
}

func connectOwner(ctx context.Context, owner *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("connect as MIGRATE_DATABASE_URL: %w", err)
	}
	return conn, nil
}

func printConfig(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("config", flag.ContinueOnError)
	flags.SetOutput(stderr)
	format := flags.String("format", "text", "output format: text, markdown (the README table) or env (.env.example)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if flags.NArg() > 0 {
		return usageError{"config takes no arguments"}
	}
	vars, err := config.Variables()
	if err != nil {
		return err
	}
	switch *format {
	case "text":
		return config.WriteText(stdout, vars)
	case "markdown":
		_, err = io.WriteString(stdout, config.Markdown(vars))
	case "env":
		_, err = io.WriteString(stdout, config.EnvExample(vars))
	default:
		return usageError{fmt.Sprintf("unknown format %q: use text, markdown or env", *format)}
	}
	return err
}
