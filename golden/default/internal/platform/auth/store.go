package auth

import (
	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// NewSessionStore returns the session store of this application: Redis,
// under keyPrefix + "session:", on the client the rate limits use too. The
// pool is not used (sessions are in Redis); the returned func releases
// nothing.
func NewSessionStore(client *redis.Client, keyPrefix string, _ *pgxpool.Pool) (scs.Store, func()) {
	return redisStore{goredisstore.NewWithPrefix(client, keyPrefix+"session:")}, func() {}
}

// redisStore is the goredisstore: every instance shares it.
type redisStore struct {
	*goredisstore.RedisStore
}

// Shared implements SharedStore.
func (redisStore) Shared() bool { return true }
