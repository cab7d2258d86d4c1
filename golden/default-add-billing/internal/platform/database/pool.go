// Package database owns the PostgreSQL connection pool, the schema
// migrations and the bootstrap of the application role.
package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shop/internal/platform/config"
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
	return pc, nil
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
