package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"shop/internal/platform/config"
	"shop/internal/platform/httpx"
	"shop/internal/platform/ratelimit"
)

// Discovery of the provider happens at the first sign-in, not at start: an
// unreachable provider never stops the application from starting or
// serving API keys. A failed discovery is retried after a pause that
// doubles from discoveryRetryMin to discoveryRetryMax; sign-ins meanwhile
// get 503 login_unavailable.
const (
	discoveryTimeout  = 5 * time.Second
	discoveryRetryMin = time.Second
	discoveryRetryMax = time.Minute
	// providerTimeout bounds every call to the provider (discovery, keys,
	// token exchange).
	providerTimeout = 10 * time.Second
)

// provider is the OpenID Connect provider, discovered lazily.
type provider struct {
	cfg    config.OIDC
	client *http.Client

	mu       sync.Mutex
	ready    *connectedProvider
	err      error
	retryAt  time.Time
	retryGap time.Duration
}

type connectedProvider struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newProvider(cfg config.OIDC) *provider {
	return &provider{cfg: cfg, client: &http.Client{Timeout: providerTimeout}}
}

// errLoginOff is returned when no provider is configured.
var errLoginOff = errors.New("auth: sign-in is not configured (OIDC_ISSUER_URL is empty)")

// get returns the discovered provider, discovering it when due.
func (p *provider) get(ctx context.Context) (*connectedProvider, error) {
	if !p.cfg.Enabled() {
		return nil, errLoginOff
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready != nil {
		return p.ready, nil
	}
	if time.Now().Before(p.retryAt) {
		return nil, p.err
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), p.client), discoveryTimeout)
	defer cancel()
	op, err := oidc.NewProvider(dctx, p.cfg.IssuerURL)
	if err != nil {
		p.retryGap = min(max(2*p.retryGap, discoveryRetryMin), discoveryRetryMax)
		p.retryAt = time.Now().Add(p.retryGap)
		p.err = fmt.Errorf("auth: discover OIDC provider %s: %w", p.cfg.IssuerURL, err)
		return nil, p.err
	}
	p.ready = &connectedProvider{
		oauth: oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			Endpoint:     op.Endpoint(),
			RedirectURL:  p.cfg.RedirectURL,
			Scopes:       p.cfg.Scopes,
		},
		verifier: op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID}),
	}
	return p.ready, nil
}

// login starts the authorization code flow: it records a fresh state,
// nonce and PKCE verifier in the (anonymous) session and redirects to the
// provider. ?return_to=/path names where the callback sends the browser
// (a path of this site only).
func (a *Authenticator) login(w http.ResponseWriter, r *http.Request) {
	if !a.limiter.Allow(w, r, ratelimit.Check{Class: ratelimit.Login, Subject: a.limiter.ClientIP(r).String()}) {
		return
	}
	op, ok := a.provider(w, r)
	if !ok {
		return
	}
	ctx, err := a.sessions.load(r.Context(), r)
	if err != nil {
		sessionFailed(w, r, a.logger, err)
		return
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	sm := a.sessions.sm
	sm.Put(ctx, sessionState, state)
	sm.Put(ctx, sessionNonce, nonce)
	sm.Put(ctx, sessionVerifier, verifier)
	sm.Put(ctx, sessionReturn, safeReturn(r.URL.Query().Get("return_to")))
	if err := a.sessions.commit(ctx, w); err != nil {
		sessionFailed(w, r, a.logger, err)
		return
	}
	url := op.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, url, http.StatusFound)
}

// callback finishes the flow: the state must be the session's (CSRF), the
// code is exchanged with the PKCE verifier, the ID token must verify and
// carry the session's nonce (replay). The user is created at the first
// sign-in, and the session is renewed under a new token.
func (a *Authenticator) callback(w http.ResponseWriter, r *http.Request) {
	if !a.limiter.Allow(w, r, ratelimit.Check{Class: ratelimit.Login, Subject: a.limiter.ClientIP(r).String()}) {
		return
	}
	op, ok := a.provider(w, r)
	if !ok {
		return
	}
	ctx, err := a.sessions.load(r.Context(), r)
	if err != nil {
		sessionFailed(w, r, a.logger, err)
		return
	}
	sm := a.sessions.sm
	// Each login attempt's values are single-use, whatever happens next.
	state, nonce, verifier, returnTo := sm.PopString(ctx, sessionState), sm.PopString(ctx, sessionNonce), sm.PopString(ctx, sessionVerifier), sm.PopString(ctx, sessionReturn)
	q := r.URL.Query()
	//nolint:contextcheck // ctx is the request's context with its session loaded into it
	refuse := func(code, msg string, attrs ...slog.Attr) {
		if state != "" {
			if err := a.sessions.commit(ctx, w); err != nil {
				a.logger.WarnContext(r.Context(), "clear sign-in attempt", slog.Any("error", err))
			}
		}
		a.logger.LogAttrs(r.Context(), slog.LevelWarn, "sign-in refused", append(attrs, slog.String("reason", code))...)
		httpx.Error(w, r, http.StatusBadRequest, code, msg)
	}
	if e := q.Get("error"); e != "" {
		refuse("login_failed", "the identity provider refused the sign-in", slog.String("provider_error", e))
		return
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		refuse("invalid_state", "this sign-in link is stale or was not started here; start again at /auth/login")
		return
	}
	ectx, cancel := context.WithTimeout(oidc.ClientContext(ctx, a.idp.client), providerTimeout)
	defer cancel()
	tok, err := op.oauth.Exchange(ectx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		// Never log err itself: a provider may echo the code in its body.
		attrs := []slog.Attr{}
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			attrs = append(attrs, slog.String("provider_error", re.ErrorCode), slog.Int("provider_status", re.Response.StatusCode))
		}
		refuse("login_failed", "the sign-in code was refused by the identity provider", attrs...)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := op.verifier.Verify(ectx, raw)
	if err != nil {
		refuse("login_failed", "the identity provider's ID token did not verify", slog.String("error", err.Error()))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		refuse("invalid_nonce", "the ID token was not issued for this sign-in")
		return
	}
	var claims struct {
		Email             string `json:"email"`
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		refuse("login_failed", "the ID token's claims are malformed", slog.String("error", err.Error()))
		return
	}
	name := claims.Name
	if name == "" {
		name = claims.PreferredUsername
	}
	user, err := upsertUser(ctx, a.db, idt.Issuer, idt.Subject, truncate(claims.Email, 320), truncate(name, 200))
	if err != nil {
		httpx.Error(w, r, http.StatusInternalServerError, "internal", "internal server error")
		a.logger.ErrorContext(r.Context(), "sign-in", slog.Any("error", err))
		return
	}
	if err := a.sessions.signIn(ctx, w, user); err != nil {
		sessionFailed(w, r, a.logger, err)
		return
	}
	a.logger.InfoContext(r.Context(), "signed in", slog.String("user_id", user.String()))
	http.Redirect(w, r, returnTo, http.StatusFound)
}

// logout ends the session. It is a POST checked against cross-origin
// requests, so no other site can sign a user out.
func (a *Authenticator) logout(w http.ResponseWriter, r *http.Request) {
	if !a.limiter.Allow(w, r, ratelimit.Check{Class: ratelimit.IP, Subject: a.limiter.ClientIP(r).String()}) {
		return
	}
	if err := a.csrf.Check(r); err != nil {
		httpx.Error(w, r, http.StatusForbidden, "cross_origin", "cross-origin request refused")
		return
	}
	if a.sessions.hasCookie(r) {
		ctx, err := a.sessions.load(r.Context(), r)
		if err != nil {
			sessionFailed(w, r, a.logger, err)
			return
		}
		if err := a.sessions.signOut(ctx, w); err != nil {
			sessionFailed(w, r, a.logger, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// provider returns the discovered provider, or answers 501 (not
// configured) or 503 (unreachable) and returns false.
func (a *Authenticator) provider(w http.ResponseWriter, r *http.Request) (*connectedProvider, bool) {
	op, err := a.idp.get(r.Context())
	switch {
	case errors.Is(err, errLoginOff):
		httpx.Error(w, r, http.StatusNotImplemented, "login_not_configured",
			"sign-in with an identity provider is not configured (set OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET); API keys work without it")
		return nil, false
	case err != nil:
		a.logger.WarnContext(r.Context(), "identity provider unavailable", slog.Any("error", err))
		writeUnavailable(w, r, "login_unavailable", "the identity provider cannot be reached; try again shortly")
		return nil, false
	}
	return op, true
}

// safeReturn keeps a post-sign-in target only when it is a path of this
// site: "/x", never "//evil.example" or "/\evil.example", which browsers
// read as another host.
func safeReturn(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, `/\`) || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// writeUnavailable answers 503 with Retry-After.
func writeUnavailable(w http.ResponseWriter, r *http.Request, code, msg string) {
	w.Header().Set("Retry-After", "1")
	httpx.Error(w, r, http.StatusServiceUnavailable, code, msg)
}
