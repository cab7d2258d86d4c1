// Package database owns the PostgreSQL connection pool, the schema
// migrations and the bootstrap of the application role.
package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/platform/config"
)

var execModes = map[config.QueryExecMode]pgx.QueryExecMode{
	config.CacheStatement: pgx.QueryExecModeCacheStatement,
	config.CacheDescribe:  pgx.QueryExecModeCacheDescribe,
	config.DescribeExec:   pgx.QueryExecModeDescribeExec,
	config.Exec:           pgx.QueryExecModeExec,
	config.SimpleProtocol: pgx.QueryExecModeSimpleProtocol,
}

// PoolConfig builds the pool configuration of the application role from cfg.
// Callers may adjust it (for example set ConnConfig.Tracer) before Open.
//
// A statement whose context ends (its client went away, the shutdown grace
// period is over) returns at once: pgx closes its connection and sends
// PostgreSQL (or PgBouncer, which forwards it) a cancel request, so the
// statement stops on the server too. DATABASE_STATEMENT_TIMEOUT bounds the
// others (see RoleSettings).
func PoolConfig(cfg config.Database) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("database: parse DATABASE_URL: %w", err)
	}
	mode, ok := execModes[cfg.QueryExecMode]
	if !ok {
		return nil, fmt.Errorf("database: unknown query exec mode %q", cfg.QueryExecMode)
	}
	pc.MaxConns = cfg.MaxConns
	pc.MinConns = cfg.MinConns
	pc.MaxConnLifetime = cfg.MaxConnLifetime
	pc.MaxConnIdleTime = cfg.MaxConnIdleTime
	pc.HealthCheckPeriod = cfg.HealthCheckPeriod
	pc.ConnConfig.DefaultQueryExecMode = mode
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	return pc, nil
}

// OwnerConfig returns the connection configuration of the schema owner
// (MIGRATE_DATABASE_URL), for migrate and the operator commands.
func OwnerConfig(cfg *config.Config) (*pgx.ConnConfig, error) {
	if err := cfg.RequireMigrate(); err != nil {
		return nil, err
	}
	cc, err := pgx.ParseConfig(cfg.Migrate.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database: parse MIGRATE_DATABASE_URL: %w", err)
	}
	cc.ConnectTimeout = cfg.Database.ConnectTimeout
	return cc, nil
}

// Open creates the pool. Connections are established in the background, so
// Open succeeds while the database is unreachable; Ready reports that.
func Open(ctx context.Context, pc *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("database: create pool: %w", err)
	}
	return pool, nil
}

// ReadyTimeout bounds one readiness check.
const ReadyTimeout = 2 * time.Second

// Ready reports whether the pool can reach the database.
func Ready(ctx context.Context, pool *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("database: ping: %w", err)
	}
	return nil
}

// StatementTimeout returns the statement_timeout of q's session (0 for
// none): for the app role, what migrate up set from
// DATABASE_STATEMENT_TIMEOUT.
func StatementTimeout(ctx context.Context, q Querier) (time.Duration, error) {
	var ms int64
	if err := q.QueryRow(ctx, "SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'").Scan(&ms); err != nil {
		return 0, fmt.Errorf("database: read statement_timeout: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
