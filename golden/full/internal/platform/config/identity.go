package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Redis configures the one Redis client of the application: rate limits.
type Redis struct {
	URL          string        `env:"URL" envDefault:"redis://127.0.0.1:6379/0" secret:"true" accepts:"a Redis URL: redis://[user:password@]host:6379/db, rediss:// for TLS" desc:"Redis server of the rate limits, and of the sessions when they are stored in Redis."`
	KeyPrefix    string        `env:"KEY_PREFIX" envDefault:"acme:" desc:"Prefix of every Redis key the application writes, so that several applications can share one Redis."`
	PoolSize     int           `env:"POOL_SIZE" envDefault:"20" desc:"Maximum connections to Redis per instance."`
	DialTimeout  time.Duration `env:"DIAL_TIMEOUT" envDefault:"1s" desc:"Time allowed to connect to Redis."`
	ReadTimeout  time.Duration `env:"READ_TIMEOUT" envDefault:"500ms" desc:"Time allowed for a Redis reply; past it the command fails (see the fail-open and fail-closed rate limits in README.md)."`
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT" envDefault:"500ms" desc:"Time allowed to send a Redis command."`
}

// Session configures the session cookie of signed-in users.
type Session struct {
	Lifetime    time.Duration `env:"LIFETIME" envDefault:"24h" desc:"A session ends this long after sign-in, however active."`
	IdleTimeout time.Duration `env:"IDLE_TIMEOUT" envDefault:"2h" desc:"A session ends after this long without a request."`
	CookieName  string        `env:"COOKIE_NAME" envDefault:"session" desc:"Name of the session cookie."`
}

// OIDC configures sign-in through an OpenID Connect provider (Keycloak,
// Auth0, Zitadel, Ory, Dex…). Without an issuer, sign-in is off and only API
// keys authenticate.
type OIDC struct {
	IssuerURL    string   `env:"ISSUER_URL" envDefault:"" accepts:"the provider's issuer URL, e.g. https://keycloak.example.com/realms/acme" desc:"OpenID Connect issuer; empty turns sign-in off (API keys still work)."`
	ClientID     string   `env:"CLIENT_ID" envDefault:"" desc:"OAuth client id registered at the provider; required with OIDC_ISSUER_URL."`
	ClientSecret string   `env:"CLIENT_SECRET" envDefault:"" secret:"true" desc:"OAuth client secret; empty for a public client (PKCE still protects the code)."`
	RedirectURL  string   `env:"REDIRECT_URL" envDefault:"http://localhost:8080/auth/callback" accepts:"an absolute http(s) URL ending in /auth/callback" desc:"Callback URL registered at the provider: this application's /auth/callback."`
	Scopes       []string `env:"SCOPES" envDefault:"openid email profile" envSeparator:" " accepts:"space-separated scopes including openid" desc:"Scopes requested at sign-in."`
}

// Enabled reports whether sign-in through a provider is configured.
func (o OIDC) Enabled() bool { return o.IssuerURL != "" }

// RateLimits are the request budgets enforced in Redis, shared by every
// instance.
type RateLimits struct {
	IP        Rate `env:"IP" envDefault:"300/minute" desc:"Requests per client IP address under /api/v1/."`
	APIKey    Rate `env:"API_KEY" envDefault:"1000/hour" desc:"Requests per API key."`
	Login     Rate `env:"LOGIN" envDefault:"5/minute" desc:"Sign-in attempts (/auth/login and /auth/callback) per client IP address."`
	Expensive Rate `env:"EXPENSIVE" envDefault:"10/hour" desc:"Requests per user (or API key) to routes marked expensive."`
}

// Rate is a number of events per period, written "300/minute".
type Rate struct {
	limit  int
	period time.Duration
}

// NewRate returns limit events per period.
func NewRate(limit int, period time.Duration) Rate { return Rate{limit: limit, period: period} }

// Limit is the number of events allowed per Period.
func (r Rate) Limit() int { return r.limit }

// Period is the window of Limit.
func (r Rate) Period() time.Duration { return r.period }

var ratePeriods = map[string]time.Duration{
	"second": time.Second,
	"minute": time.Minute,
	"hour":   time.Hour,
	"day":    24 * time.Hour,
}

// String formats r as it is written in the environment.
func (r Rate) String() string {
	for name, d := range ratePeriods {
		if d == r.period {
			return strconv.Itoa(r.limit) + "/" + name
		}
	}
	return strconv.Itoa(r.limit) + "/" + r.period.String()
}

// Accepted implements Accepter.
func (Rate) Accepted() string { return "N/second, N/minute, N/hour or N/day with N ≥ 1" }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rate) UnmarshalText(text []byte) error {
	n, unit, ok := strings.Cut(string(text), "/")
	limit, err := strconv.Atoi(n)
	period, known := ratePeriods[unit]
	if !ok || err != nil || limit < 1 || !known {
		return acceptedError{value: string(text), accepted: r.Accepted()}
	}
	*r = Rate{limit: limit, period: period}
	return nil
}

// Proxies are the networks whose X-Forwarded-For header is believed.
type Proxies struct {
	prefixes []netip.Prefix
}

// Prefixes returns the trusted networks.
func (p Proxies) Prefixes() []netip.Prefix { return slices.Clone(p.prefixes) }

// NewProxies returns the given trusted networks.
func NewProxies(prefixes ...netip.Prefix) Proxies { return Proxies{prefixes: prefixes} }

// Accepted implements Accepter.
func (Proxies) Accepted() string {
	return "comma-separated CIDRs or addresses, e.g. 10.0.0.0/8,192.168.1.7"
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Proxies) UnmarshalText(text []byte) error {
	var out []netip.Prefix
	for field := range strings.SplitSeq(string(text), ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		if prefix, err := netip.ParsePrefix(field); err == nil {
			out = append(out, prefix.Masked())
			continue
		}
		addr, err := netip.ParseAddr(field)
		if err != nil {
			return acceptedError{value: string(text), accepted: p.Accepted()}
		}
		out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
	}
	*p = Proxies{prefixes: out}
	return nil
}

// identityProblems reports the identity settings that are invalid together.
func (c *Config) identityProblems(values map[string]string, failed map[string]bool) []Problem {
	var problems []Problem
	add := func(name, reason, accepted string) {
		v, set := values[name]
		problems = append(problems, Problem{Name: name, Value: v, Set: set, Reason: reason, Accepted: accepted})
	}
	if !failed["REDIS_URL"] {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			add("REDIS_URL", "is not a Redis URL", "redis://host:6379/0 or rediss://host:6380/0")
		}
	}
	if c.Redis.PoolSize < 1 {
		add("REDIS_POOL_SIZE", "must be at least 1", "a positive integer")
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"REDIS_DIAL_TIMEOUT", c.Redis.DialTimeout},
		{"REDIS_READ_TIMEOUT", c.Redis.ReadTimeout},
		{"REDIS_WRITE_TIMEOUT", c.Redis.WriteTimeout},
		{"SESSION_LIFETIME", c.Session.Lifetime},
		{"SESSION_IDLE_TIMEOUT", c.Session.IdleTimeout},
	} {
		if d.value <= 0 && !failed[d.name] {
			add(d.name, "must be positive", "a duration greater than zero such as 30s or 5m")
		}
	}
	if c.Session.CookieName == "" || strings.ContainsAny(c.Session.CookieName, " \t,;=\"\\") {
		add("SESSION_COOKIE_NAME", "is not a valid cookie name", "letters, digits and - _ .")
	}
	if !c.OIDC.Enabled() {
		return problems
	}
	if u, err := url.Parse(c.OIDC.IssuerURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add("OIDC_ISSUER_URL", "is not an absolute http(s) URL", "the provider's issuer URL, e.g. https://keycloak.example.com/realms/acme")
	}
	if c.OIDC.ClientID == "" {
		add("OIDC_CLIENT_ID", "is required when OIDC_ISSUER_URL is set", "the client id registered at the provider")
	}
	if u, err := url.Parse(c.OIDC.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add("OIDC_REDIRECT_URL", "is not an absolute http(s) URL", "e.g. https://app.example.com/auth/callback")
	}
	if !slices.Contains(c.OIDC.Scopes, "openid") {
		add("OIDC_SCOPES", "must include openid", fmt.Sprintf("space-separated scopes including openid, e.g. %q", "openid email profile"))
	}
	return problems
}
