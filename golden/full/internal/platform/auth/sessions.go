package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/acme/acme/internal/platform/config"
)

// Session values. Only strings are stored, so the JSON codec returns what
// was put.
const (
	sessionUser     = "uid"  // the signed-in user's id
	sessionTenant   = "tid"  // the tenant the user selected, if any
	sessionSeen     = "seen" // unix seconds of the last write, for the idle timeout
	sessionState    = "oidc_state"
	sessionNonce    = "oidc_nonce"
	sessionVerifier = "oidc_verifier"
	sessionReturn   = "oidc_return"
)

// SharedStore is implemented by session stores that every instance of the
// application reaches (Redis, PostgreSQL). In production the application
// refuses to start with any other store: a session kept in one process's
// memory signs users out at each deploy and on every other instance.
type SharedStore interface {
	scs.Store
	// Shared reports that every instance sees the same sessions.
	Shared() bool
}

// Sessions keeps the sessions of signed-in users in the shared store. The
// cookie is HttpOnly, SameSite=Lax and, outside development, Secure; its
// token is renewed at sign-in and at every change of tenant, and the store
// is keyed by the token's SHA-256, so a copy of the store holds no usable
// token.
type Sessions struct {
	sm *scs.SessionManager
	// refreshEvery is how stale the idle deadline may get before a request
	// writes the session again: reading a session costs one round trip,
	// keeping it alive one more only every refreshEvery.
	refreshEvery time.Duration
	now          func() time.Time
}

// NewSessions returns the sessions of cfg kept in store, and registers
// session_store_errors_total{op} with reg.
func NewSessions(cfg config.Session, env config.Environment, store scs.Store, reg prometheus.Registerer) (*Sessions, error) {
	if s, ok := store.(SharedStore); env == config.Production && (!ok || !s.Shared()) {
		return nil, fmt.Errorf("auth: session store %T keeps sessions in one process; production needs a shared store (Redis or PostgreSQL)", store)
	}
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "session_store_errors_total",
		Help: "Session store operations that failed, by operation (find, commit, delete).",
	}, []string{"op"})
	if err := reg.Register(errs); err != nil {
		return nil, fmt.Errorf("auth: register session metrics: %w", err)
	}
	for _, op := range []string{"find", "commit", "delete"} {
		errs.WithLabelValues(op)
	}
	sm := scs.New()
	sm.Store = countingStore{store: store, errors: errs}
	sm.HashTokenInStore = true
	sm.Codec = jsonCodec{}
	sm.Lifetime = cfg.Lifetime
	sm.IdleTimeout = cfg.IdleTimeout
	sm.Cookie = scs.SessionCookie{
		Name:     cfg.CookieName,
		HttpOnly: true,
		Path:     "/",
		SameSite: http.SameSiteLaxMode,
		Secure:   env != config.Development,
		Persist:  true,
	}
	return &Sessions{sm: sm, refreshEvery: min(cfg.IdleTimeout/10, time.Minute), now: time.Now}, nil
}

// CookieName is the name of the session cookie.
func (s *Sessions) CookieName() string { return s.sm.Cookie.Name }

// hasCookie reports whether r carries a session cookie.
func (s *Sessions) hasCookie(r *http.Request) bool {
	c, err := r.Cookie(s.sm.Cookie.Name)
	return err == nil && c.Value != ""
}

// load reads the session of r's cookie into the returned context: one store
// round trip, none without a cookie. An unknown or expired token yields an
// empty session.
func (s *Sessions) load(ctx context.Context, r *http.Request) (context.Context, error) {
	var token string
	if c, err := r.Cookie(s.sm.Cookie.Name); err == nil {
		token = c.Value
	}
	ctx, err := s.sm.Load(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("auth: load session: %w", err)
	}
	return ctx, nil
}

// user returns the signed-in user of the session of ctx.
func (s *Sessions) user(ctx context.Context) (uuid.UUID, bool) {
	id, err := uuid.Parse(s.sm.GetString(ctx, sessionUser))
	return id, err == nil && id != uuid.Nil
}

// selectedTenant returns the tenant the user selected in the session.
func (s *Sessions) selectedTenant(ctx context.Context) (uuid.UUID, bool) {
	id, err := uuid.Parse(s.sm.GetString(ctx, sessionTenant))
	return id, err == nil && id != uuid.Nil
}

// keepAlive writes the session again when its idle deadline was last
// pushed back more than refreshEvery ago.
func (s *Sessions) keepAlive(ctx context.Context, w http.ResponseWriter) error {
	seen, _ := strconv.ParseInt(s.sm.GetString(ctx, sessionSeen), 10, 64)
	if s.now().Sub(time.Unix(seen, 0)) < s.refreshEvery {
		return nil
	}
	return s.commit(ctx, w)
}

// commit saves the session of ctx and sets its cookie on w.
func (s *Sessions) commit(ctx context.Context, w http.ResponseWriter) error {
	s.sm.Put(ctx, sessionSeen, strconv.FormatInt(s.now().Unix(), 10))
	token, expiry, err := s.sm.Commit(ctx)
	if err != nil {
		return fmt.Errorf("auth: save session: %w", err)
	}
	s.sm.WriteSessionCookie(ctx, w, token, expiry)
	return nil
}

// signIn makes the session of ctx the user's, under a new token, and saves
// it: any token known before sign-in (a fixation attempt) is worthless.
func (s *Sessions) signIn(ctx context.Context, w http.ResponseWriter, user uuid.UUID) error {
	if err := s.sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("auth: renew session token: %w", err)
	}
	for _, k := range []string{sessionState, sessionNonce, sessionVerifier, sessionReturn, sessionTenant} {
		s.sm.Remove(ctx, k)
	}
	s.sm.Put(ctx, sessionUser, user.String())
	return s.commit(ctx, w)
}

// selectTenant records the user's choice of tenant under a new token.
func (s *Sessions) selectTenant(ctx context.Context, w http.ResponseWriter, tenant uuid.UUID) error {
	if err := s.sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("auth: renew session token: %w", err)
	}
	s.sm.Put(ctx, sessionTenant, tenant.String())
	return s.commit(ctx, w)
}

// signOut deletes the session of ctx and expires its cookie.
func (s *Sessions) signOut(ctx context.Context, w http.ResponseWriter) error {
	if err := s.sm.Destroy(ctx); err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	s.sm.WriteSessionCookie(ctx, w, "", time.Time{})
	return nil
}

// Issue creates a signed-in session for user in the store and returns its
// token, as the session cookie's value. Tests use it to act as a user
// without a provider; the application itself signs in only through OIDC.
func (s *Sessions) Issue(ctx context.Context, user uuid.UUID) (string, error) {
	ctx, err := s.sm.Load(ctx, "")
	if err != nil {
		return "", fmt.Errorf("auth: new session: %w", err)
	}
	s.sm.Put(ctx, sessionUser, user.String())
	s.sm.Put(ctx, sessionSeen, strconv.FormatInt(s.now().Unix(), 10))
	token, _, err := s.sm.Commit(ctx)
	if err != nil {
		return "", fmt.Errorf("auth: save session: %w", err)
	}
	return token, nil
}

// jsonCodec stores sessions as JSON, readable in the store when debugging.
type jsonCodec struct{}

type sessionJSON struct {
	Deadline time.Time      `json:"deadline"`
	Values   map[string]any `json:"values"`
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return json.Marshal(sessionJSON{Deadline: deadline, Values: values})
}

func (jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var s sessionJSON
	if err := json.Unmarshal(b, &s); err != nil {
		return time.Time{}, nil, err
	}
	if s.Values == nil {
		s.Values = map[string]any{}
	}
	return s.Deadline, s.Values, nil
}

// countingStore counts the failures of store in session_store_errors_total.
type countingStore struct {
	store  scs.Store
	errors *prometheus.CounterVec
}

func (c countingStore) count(op string, err error) error {
	if err != nil {
		c.errors.WithLabelValues(op).Inc()
	}
	return err
}

// FindCtx implements scs.CtxStore.
func (c countingStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var (
		b     []byte
		found bool
		err   error
	)
	if cs, ok := c.store.(scs.CtxStore); ok {
		b, found, err = cs.FindCtx(ctx, token)
	} else {
		b, found, err = c.store.Find(token)
	}
	return b, found, c.count("find", err)
}

// CommitCtx implements scs.CtxStore.
func (c countingStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if cs, ok := c.store.(scs.CtxStore); ok {
		return c.count("commit", cs.CommitCtx(ctx, token, b, expiry))
	}
	return c.count("commit", c.store.Commit(token, b, expiry))
}

// DeleteCtx implements scs.CtxStore.
func (c countingStore) DeleteCtx(ctx context.Context, token string) error {
	if cs, ok := c.store.(scs.CtxStore); ok {
		return c.count("delete", cs.DeleteCtx(ctx, token))
	}
	return c.count("delete", c.store.Delete(token))
}

// Find implements scs.Store.
func (c countingStore) Find(token string) ([]byte, bool, error) {
	return c.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (c countingStore) Commit(token string, b []byte, expiry time.Time) error {
	return c.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (c countingStore) Delete(token string) error {
	return c.DeleteCtx(context.Background(), token)
}

// sessionFailed logs err and answers 503 session_store_unavailable.
func sessionFailed(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	logger.ErrorContext(r.Context(), "session store", slog.Any("error", err))
	writeUnavailable(w, r, "session_store_unavailable", "sessions cannot be read right now; try again shortly")
}
