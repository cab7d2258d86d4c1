// Package redistest gives tests the real Redis of TEST_REDIS_URL with a
// private key prefix, so tests (and test binaries) running at once on one
// Redis never see each other's keys.
//
// Without TEST_REDIS_URL the test is skipped, unless TEST_REQUIRE_SERVICES=1,
// in which case it fails.
package redistest

import (
	"context"
	"crypto/rand"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"shop/internal/platform/config"
	"shop/internal/platform/redisx"
)

// URL returns TEST_REDIS_URL, skipping (or failing, under
// TEST_REQUIRE_SERVICES=1) the test when it is unset.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	const msg = "TEST_REDIS_URL not set: run `TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test ./...`"
	if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + " (TEST_REQUIRE_SERVICES=1 turns this skip into a failure)")
	}
	t.Skip(msg)
	return ""
}

// Redis is a client on the test Redis and the key prefix private to one
// test.
type Redis struct {
	Client *redis.Client
	// Config is the configuration of Client: REDIS_URL and REDIS_KEY_PREFIX
	// to give a binary started by the test.
	Config config.Redis
}

// New returns a client built by redisx.New on TEST_REDIS_URL with a fresh
// key prefix. When the test ends every key under the prefix is deleted and
// the client closed.
func New(t testing.TB) *Redis {
	t.Helper()
	cfg := config.Redis{
		URL:          URL(t),
		KeyPrefix:    "test:" + strings.ToLower(rand.Text()) + ":",
		PoolSize:     10,
		DialTimeout:  time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
	}
	client, err := redisx.New(cfg)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	if err := redisx.Ready(t.Context(), client); err != nil {
		t.Fatalf("redistest: TEST_REDIS_URL: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, cfg.KeyPrefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("redistest: scan %s*: %v", cfg.KeyPrefix, err)
		}
		for chunk := range slices.Chunk(keys, 500) {
			if err := client.Del(ctx, chunk...).Err(); err != nil {
				t.Errorf("redistest: delete test keys: %v", err)
			}
		}
		_ = client.Close()
	})
	return &Redis{Client: client, Config: cfg}
}
