package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"shop/internal/platform/tenancy"
)

// An API key is "sk_", a 12-character id, "_" and a 52-character secret,
// all lower-case base32: 68 characters a person can select with a double
// click. "sk_" and the id form the key's prefix, stored in clear to find
// the key and shown in listings; the secret is 32 random bytes.
//
// The database stores only the SHA-256 of the whole key. A slow password
// hash (bcrypt, argon2) exists to make guessing low-entropy secrets
// expensive; a 256-bit random secret cannot be guessed however fast the
// hash, so SHA-256 keeps the check cheap without weakening it. Comparison
// is constant-time.
const (
	keyScheme    = "sk_"
	keyIDLen     = 12
	keySecretLen = 52
	keyPrefixLen = len(keyScheme) + keyIDLen
	keyLen       = keyPrefixLen + 1 + keySecretLen
)

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrInvalidKey is returned for an API key that is malformed, unknown,
// revoked or expired; callers answer 401 without saying which.
var ErrInvalidKey = errors.New("auth: invalid API key")

// ErrNotFound is returned when a key or member does not exist in the tenant.
var ErrNotFound = errors.New("auth: not found")

// newKey returns a fresh key and its prefix.
func newKey() (key, prefix string) {
	var id [8]byte // 12 base32 characters need 7.5 bytes
	var secret [32]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(secret[:])
	prefix = keyScheme + strings.ToLower(keyEncoding.EncodeToString(id[:]))[:keyIDLen]
	return prefix + "_" + strings.ToLower(keyEncoding.EncodeToString(secret[:])), prefix
}

// PrefixOf returns the visible prefix of key (or of a prefix given as is):
// how listings and the operator command name a key.
func PrefixOf(key string) string { return key[:min(len(key), keyPrefixLen)] }

// keyPrefix returns the prefix of key, or false when key is not shaped like
// an API key.
func keyPrefix(key string) (string, bool) {
	if len(key) != keyLen || !strings.HasPrefix(key, keyScheme) || key[keyPrefixLen] != '_' {
		return "", false
	}
	for _, c := range []byte(key[len(keyScheme):keyPrefixLen] + key[keyPrefixLen+1:]) {
		if base32 := 'a' <= c && c <= 'z' || '2' <= c && c <= '7'; !base32 {
			return "", false
		}
	}
	return key[:keyPrefixLen], true
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Querier runs a query: *pgxpool.Pool, *pgx.Conn and pgx.Tx satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// KeyInfo is what authenticating an API key yields.
type KeyInfo struct {
	ID     uuid.UUID
	Tenant tenancy.Tenant
	Role   Role
}

// storedKey is a key as the lookup function returns it; a zero ID caches
// an unknown prefix.
type storedKey struct {
	ID         uuid.UUID
	TenantID   uuid.UUID
	Slug       string
	TenantName string
	Role       Role
	SecretHash string
	ExpiresAt  *time.Time
	Revoked    bool
}

// flushEvery is how often the last use of keys is written.
const flushEvery = 30 * time.Second

// Keys authenticates API keys. A key once read is trusted for CacheTTL, so
// a busy key costs no database round trip; its last use is recorded in
// memory and written for all keys at once every flushEvery, never one write
// per request.
type Keys struct {
	db     tenancy.Batcher
	lookup Querier
	logger *slog.Logger
	now    func() time.Time
	cache  *cache[string, storedKey]

	mu   sync.Mutex
	used map[uuid.UUID]keyUse

	stop chan struct{}
	wg   sync.WaitGroup
}

type keyUse struct {
	tenant uuid.UUID
	at     time.Time
}

type keysDB interface {
	tenancy.Batcher
	Querier
}

// NewKeys returns Keys on db, a pool of the application role, and starts
// the flush of last uses; Close stops it.
func NewKeys(db keysDB, logger *slog.Logger) *Keys {
	k := &Keys{
		db: db, lookup: db, logger: logger, now: time.Now,
		cache: newCache[string, storedKey](CacheTTL, maxCached, time.Now),
		used:  map[uuid.UUID]keyUse{},
		stop:  make(chan struct{}),
	}
	k.wg.Go(k.flushLoop)
	return k
}

// Authenticate returns the key presented as token, or ErrInvalidKey.
func (k *Keys) Authenticate(ctx context.Context, token string) (KeyInfo, error) {
	prefix, ok := keyPrefix(token)
	if !ok {
		return KeyInfo{}, ErrInvalidKey
	}
	sk, ok := k.cache.get(prefix)
	if !ok {
		rows, _ := k.lookup.Query(ctx, `SELECT id, tenant_id, slug, tenant_name, role, secret_hash, expires_at, revoked FROM identity_api_key($1)`, prefix)
		found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[storedKey])
		if err != nil {
			return KeyInfo{}, fmt.Errorf("auth: look up API key: %w", err)
		}
		if len(found) == 1 {
			sk = found[0]
		}
		k.cache.put(prefix, sk)
	}
	if sk.ID == uuid.Nil || subtle.ConstantTimeCompare([]byte(hashKey(token)), []byte(sk.SecretHash)) != 1 ||
		sk.Revoked || (sk.ExpiresAt != nil && !k.now().Before(*sk.ExpiresAt)) {
		return KeyInfo{}, ErrInvalidKey
	}
	k.mu.Lock()
	k.used[sk.ID] = keyUse{tenant: sk.TenantID, at: k.now()}
	k.mu.Unlock()
	return KeyInfo{ID: sk.ID, Tenant: tenancy.Tenant{ID: sk.TenantID, Slug: sk.Slug, Name: sk.TenantName}, Role: sk.Role}, nil
}

// forget drops what this instance cached about the key with prefix, so that
// a revocation made here applies here at once.
func (k *Keys) forget(prefix string) { k.cache.forget(prefix) }

func (k *Keys) flushLoop() {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
			k.flush(context.Background())
		}
	}
}

// flush writes the recorded last uses: one statement per tenant. A failed
// write is logged and the uses are kept for the next flush.
func (k *Keys) flush(ctx context.Context) {
	k.mu.Lock()
	used := k.used
	k.used = map[uuid.UUID]keyUse{}
	k.mu.Unlock()

	byTenant := map[uuid.UUID][]uuid.UUID{}
	for id, u := range used {
		byTenant[u.tenant] = append(byTenant[u.tenant], id)
	}
	for tenant, ids := range byTenant {
		ats := make([]time.Time, len(ids))
		for i, id := range ids {
			ats[i] = used[id].at
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := tenancy.Exec(ctx, k.db, tenant, `
			UPDATE api_keys SET last_used_at = u.at
			FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
			WHERE api_keys.id = u.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < u.at)`, ids, ats)
		cancel()
		if err != nil {
			k.logger.WarnContext(ctx, "record API key use", slog.Any("error", err))
			k.mu.Lock()
			for _, id := range ids {
				if _, newer := k.used[id]; !newer {
					k.used[id] = used[id]
				}
			}
			k.mu.Unlock()
		}
	}
}

// Close stops the flush loop and writes the last uses still in memory,
// within 5 s even when ctx is already canceled (as at shutdown).
func (k *Keys) Close(ctx context.Context) {
	select {
	case <-k.stop:
		return
	default:
	}
	close(k.stop)
	k.wg.Wait()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	k.flush(ctx)
}

// APIKey describes a key without its secret.
type APIKey struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Role       Role       `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// NewAPIKey is a key just created: Key is shown once and never again.
type NewAPIKey struct {
	APIKey
	Key string `json:"key"`
}

// maxKeyName bounds a key's name, as the table's CHECK does.
const maxKeyName = 100

// CheckKeyInput explains why name, role or expiry cannot make a key.
func CheckKeyInput(name string, role Role, expiresAt *time.Time, now time.Time) map[string]string {
	bad := map[string]string{}
	if n := utf8.RuneCountInString(strings.TrimSpace(name)); n == 0 || n > maxKeyName || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		bad["name"] = fmt.Sprintf("must be 1 to %d characters", maxKeyName)
	}
	if role != RoleAdmin && role != RoleMember {
		bad["role"] = "must be admin or member"
	}
	if expiresAt != nil && !expiresAt.After(now) {
		bad["expires_at"] = "must be in the future"
	}
	return bad
}

const keyColumns = `id, name, prefix, role, created_at, expires_at, revoked_at, last_used_at`

// CreateAPIKey creates a key of tenant with role, expiring at expiresAt
// (nil: never), created by createdBy (nil: the operator). db is a pool of
// the application role, or the owner's connection for the operator
// command. Check the input with CheckKeyInput first.
func CreateAPIKey(ctx context.Context, db tenancy.Batcher, tenant uuid.UUID, name string, role Role, expiresAt *time.Time, createdBy *uuid.UUID) (NewAPIKey, error) {
	key, prefix := newKey()
	var k NewAPIKey
	err := tenancy.Query(ctx, db, tenant, func(rows pgx.Rows) error {
		var err error
		k.APIKey, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[APIKey])
		return err
	}, `INSERT INTO api_keys (tenant_id, name, prefix, secret_hash, role, expires_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+keyColumns,
		tenant, strings.TrimSpace(name), prefix, hashKey(key), role, expiresAt, createdBy)
	if err != nil {
		return NewAPIKey{}, fmt.Errorf("auth: create API key: %w", err)
	}
	k.Key = key
	return k, nil
}

// ListAPIKeys returns the keys of tenant, newest first.
func ListAPIKeys(ctx context.Context, db tenancy.Batcher, tenant uuid.UUID) ([]APIKey, error) {
	var keys []APIKey
	err := tenancy.Query(ctx, db, tenant, func(rows pgx.Rows) error {
		var err error
		keys, err = pgx.CollectRows(rows, pgx.RowToStructByPos[APIKey])
		return err
	}, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("auth: list API keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes the key id of tenant and returns its prefix, or
// ErrNotFound. Revoking a revoked key changes nothing.
func RevokeAPIKey(ctx context.Context, db tenancy.Batcher, tenant, id uuid.UUID) (string, error) {
	var prefix string
	err := tenancy.Query(ctx, db, tenant, func(rows pgx.Rows) error {
		var err error
		prefix, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[string])
		return err
	}, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING prefix`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("auth: revoke API key: %w", err)
	}
	return prefix, nil
}

// FindAPIKey returns the id and tenant of the key whose prefix is prefix
// (the operator command revokes by prefix), or ErrNotFound.
func FindAPIKey(ctx context.Context, db Querier, prefix string) (id, tenant uuid.UUID, err error) {
	rows, _ := db.Query(ctx, `SELECT id, tenant_id FROM identity_api_key($1)`, prefix)
	type row struct{ ID, Tenant uuid.UUID }
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[row])
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, uuid.Nil, ErrNotFound
	}
	if err != nil {
		return uuid.Nil, uuid.Nil, fmt.Errorf("auth: find API key: %w", err)
	}
	return r.ID, r.Tenant, nil
}
