package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// sweepEvery is how often expired sessions are deleted.
const sweepEvery = 5 * time.Minute

// NewSessionStore returns the session store of this application: the
// sessions table in PostgreSQL, reached through pool (Redis serves the rate
// limits only). The returned func stops the background sweep of expired
// sessions.
func NewSessionStore(_ *redis.Client, _ string, pool *pgxpool.Pool) (scs.Store, func()) {
	s := &pgStore{pool: pool, stop: make(chan struct{})}
	s.wg.Go(s.sweep)
	var once sync.Once
	return s, func() {
		once.Do(func() {
			close(s.stop)
			s.wg.Wait()
		})
	}
}

// pgStore keeps sessions in the sessions table, keyed by the token's hash.
// The data is JSON (jsonb), so no bytea column is needed.
type pgStore struct {
	pool *pgxpool.Pool
	stop chan struct{}
	wg   sync.WaitGroup
}

// Shared implements SharedStore.
func (*pgStore) Shared() bool { return true }

// FindCtx implements scs.CtxStore.
func (s *pgStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data::text FROM sessions WHERE token = $1 AND expiry > now()`, token).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sessions: find: %w", err)
	}
	return data, true, nil
}

// CommitCtx implements scs.CtxStore.
func (s *pgStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO sessions (token, data, expiry) VALUES ($1, $2::text::jsonb, $3)
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`,
		token, string(b), expiry)
	if err != nil {
		return fmt.Errorf("sessions: commit: %w", err)
	}
	return nil
}

// DeleteCtx implements scs.CtxStore.
func (s *pgStore) DeleteCtx(ctx context.Context, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("sessions: delete: %w", err)
	}
	return nil
}

// Find implements scs.Store.
func (s *pgStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (s *pgStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (s *pgStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// sweep deletes expired sessions every sweepEvery until stop is closed.
// Expired sessions are never returned anyway; the sweep only keeps the
// table small. A failed sweep is retried at the next tick.
func (s *pgStore) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, _ = s.pool.Exec(ctx, `DELETE FROM sessions WHERE expiry <= now()`)
			cancel()
		}
	}
}
