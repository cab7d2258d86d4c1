package authtest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// Provider starts an OpenID Connect provider in the test process and
// returns it with the settings that point the application at it
// (OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET; add
// OIDC_REDIRECT_URL). Queue users with QueueUser; without one the provider
// signs in its default user.
func Provider(t testing.TB) (*mockoidc.MockOIDC, []string) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("authtest: start OIDC provider: %v", err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m, []string{
		"OIDC_ISSUER_URL=" + m.Issuer(),
		"OIDC_CLIENT_ID=" + m.ClientID,
		"OIDC_CLIENT_SECRET=" + m.ClientSecret,
	}
}

// Person is a user of the test provider.
func Person(subject, email string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: subject, Email: email, EmailVerified: true, PreferredUsername: email}
}

// Browser is a client with a cookie jar that follows no redirect, so that a
// test sees and may tamper with every step of a sign-in. Header is sent
// with every request to the application (not to the provider), e.g. an
// X-Forwarded-For from a trusted proxy. It records every secret it sees
// (cookie values, authorization codes) for the log scan.
type Browser struct {
	Client *http.Client
	Header http.Header

	mu      sync.Mutex
	secrets []string
}

// NewBrowser returns a Browser with an empty cookie jar.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Browser{
		Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Header: http.Header{},
	}
}

// Secrets returns the cookie values and codes the browser has seen.
func (b *Browser) Secrets() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.secrets...)
}

func (b *Browser) remember(s string) {
	if s == "" {
		return
	}
	b.mu.Lock()
	b.secrets = append(b.secrets, s)
	b.mu.Unlock()
	Remember(s)
}

// Do sends req, with Header when req goes to the application (app is its
// base URL), and records the cookies it sets.
func (b *Browser) Do(t testing.TB, req *http.Request, app string) *http.Response {
	t.Helper()
	if strings.HasPrefix(req.URL.String(), app) {
		for k, vs := range b.Header {
			req.Header[k] = vs
		}
	}
	res, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("authtest: %s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	for _, c := range res.Cookies() {
		b.remember(c.Value)
	}
	return res
}

// Page is the answer to a Get, its body read and its connection released.
type Page struct {
	Status int
	Body   []byte
	// Location is the redirect's target, resolved against the request's
	// URL; nil when the answer is not a redirect.
	Location *url.URL
}

// Get is Do for a GET of u.
func (b *Browser) Get(t testing.TB, u, app string) Page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := b.Do(t, req, app)
	defer func() { _ = res.Body.Close() }()
	p := Page{Status: res.StatusCode}
	p.Body, _ = io.ReadAll(res.Body)
	p.Location, _ = res.Location()
	return p
}

// Cookie returns the value of the cookie name the jar holds for app.
func (b *Browser) Cookie(t testing.TB, app, name string) string {
	t.Helper()
	u, err := url.Parse(app)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Step names a redirect of the sign-in flow, for tamper.
type Step string

// The redirects of a sign-in.
const (
	// ToProvider is the redirect from /auth/login to the provider's
	// authorization endpoint (state, nonce, code_challenge).
	ToProvider Step = "authorize"
	// ToCallback is the provider's redirect to /auth/callback (code, state).
	ToCallback Step = "callback"
)

// SignIn walks the authorization code flow from app/auth/login through the
// provider to app/auth/callback, calling tamper (when not nil) on the URL of
// each redirect before following it, and returns the callback's status and
// body. The browser keeps the session cookie the callback sets.
func (b *Browser) SignIn(t testing.TB, app string, tamper func(Step, *url.URL)) (int, []byte) {
	t.Helper()
	p := b.Get(t, app+"/auth/login", app)
	if p.Status != http.StatusFound {
		t.Fatalf("authtest: /auth/login answered %d %s, want a redirect to the provider", p.Status, p.Body)
	}
	p = b.Get(t, b.follow(t, p, ToProvider, tamper), app)
	if p.Status != http.StatusFound {
		t.Fatalf("authtest: the provider answered %d %s, want a redirect to the callback", p.Status, p.Body)
	}
	p = b.Get(t, b.follow(t, p, ToCallback, tamper), app)
	return p.Status, p.Body
}

func (b *Browser) follow(t testing.TB, p Page, step Step, tamper func(Step, *url.URL)) string {
	t.Helper()
	u := p.Location
	if u == nil {
		t.Fatalf("authtest: %s redirect without a Location", step)
	}
	b.remember(u.Query().Get("code"))
	if tamper != nil {
		tamper(step, u)
		b.remember(u.Query().Get("code")) // a forged code is a secret to keep out of logs too
	}
	return u.String()
}

// SetQuery sets the query parameter key of u to value.
func SetQuery(u *url.URL, key, value string) {
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
}
