// Package redisx owns the application's one Redis client: rate limits and
// sessions share its pool. It also counts Redis round trips per request,
// as package querycount does for PostgreSQL, so tests can hold a request to
// its budget.
package redisx

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"shop/internal/platform/config"
)

// New returns a client for cfg.URL with the pool and timeouts of cfg. It
// does not connect: connections are opened on first use, so the application
// starts while Redis is down and /readyz reports it (see Ready). Close it
// when done.
func New(cfg config.Redis) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis: parse REDIS_URL: %w", err)
	}
	opts.PoolSize = cfg.PoolSize
	opts.DialTimeout = cfg.DialTimeout
	opts.ReadTimeout = cfg.ReadTimeout
	opts.WriteTimeout = cfg.WriteTimeout
	// A command that fails is reported, never retried behind the caller's
	// back: the rate limiter decides itself whether to fail open or closed.
	opts.MaxRetries = -1
	opts.ContextTimeoutEnabled = true
	client := redis.NewClient(opts)
	client.AddHook(counterHook{})
	return client, nil
}

// ReadyTimeout bounds one readiness check.
const ReadyTimeout = 2 * time.Second

// Ready reports whether Redis answers a PING.
func Ready(ctx context.Context, client redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Counter counts Redis round trips: one per command, one per pipeline. The
// zero value is ready to use and safe for concurrent use.
type Counter struct {
	n atomic.Int64
}

// Count returns the round trips counted so far.
func (c *Counter) Count() int { return int(c.n.Load()) }

type counterKey struct{}

// WithCounter returns a context in which every round trip made through a
// client built by New is counted by c.
func WithCounter(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

func count(ctx context.Context) {
	if c, ok := ctx.Value(counterKey{}).(*Counter); ok {
		c.n.Add(1)
	}
}

// counterHook is the go-redis hook behind WithCounter.
type counterHook struct{}

func (counterHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (counterHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		count(ctx)
		return next(ctx, cmd)
	}
}

func (counterHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		count(ctx)
		return next(ctx, cmds)
	}
}
