// Package ratelimit enforces request budgets shared by every instance: the
// buckets live in Redis and follow the generic cell rate algorithm (GCRA),
// which stores one timestamp per bucket and lets a client spend its budget
// evenly or in a burst of at most the whole budget.
//
// All the limits that apply to one request are checked by one Lua script in
// one Redis round trip, and they are all-or-nothing: a request refused by
// one bucket is charged to none, so a client hammering past its API-key
// budget does not also drain its IP budget.
//
// Classes and what happens when Redis cannot be reached:
//
//	ip         per client IP, every /api/v1/ request     fails open
//	api_key    per API key                               fails open
//	login      per client IP, /auth/login and callback   fails closed (503)
//	expensive  per user or API key, routes that opt in   fails closed (503)
//
// Failing open keeps the API up for paying clients when Redis is down
// (the database still authenticates API keys); the login and expensive
// classes exist to stop abuse, so they refuse rather than lift the limit.
// Every failure counts in ratelimit_errors_total{class}; every refusal in
// ratelimit_rejections_total{class}.
package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"shop/internal/platform/config"
	"shop/internal/platform/httpx"
)

// Class names a kind of limit.
type Class string

// The limit classes.
const (
	IP        Class = "ip"
	APIKey    Class = "api_key"
	Login     Class = "login"
	Expensive Class = "expensive"
)

// failsClosed reports whether requests of class c are refused while Redis
// is unreachable.
func (c Class) failsClosed() bool { return c == Login || c == Expensive }

// Check is one bucket to charge: a class and the subject it counts (an IP
// address, an API key's prefix, a user id).
type Check struct {
	Class   Class
	Subject string
}

// Decision is the outcome of charging a request to its buckets.
type Decision struct {
	// Allowed is false when a bucket refused the request, or when Redis is
	// unreachable and a fail-closed class applies (Unavailable).
	Allowed     bool
	Unavailable bool
	// Limit, Remaining and Reset describe the tightest bucket: its budget,
	// what is left of it, and when it is whole again.
	Limit, Remaining int
	Reset            time.Duration
	// RetryAfter is when a refused request may succeed.
	RetryAfter time.Duration
	// Refused is the class that refused the request.
	Refused Class
	// checked is false when Redis was not asked (unreachable).
	checked bool
}

// breakerPause is how long the limiter stops asking an unreachable Redis
// after a failure, so that fail-open requests do not each wait for a
// connection timeout.
const breakerPause = time.Second

//go:embed gcra.lua
var gcraSource string

var gcra = redis.NewScript(gcraSource)

// Limiter charges requests to buckets in Redis. A nil *Limiter allows
// everything (module tests use it).
type Limiter struct {
	client  redis.Scripter
	prefix  string
	rates   map[Class]config.Rate
	proxies []netip.Prefix
	logger  *slog.Logger

	rejections *prometheus.CounterVec
	errors     *prometheus.CounterVec

	downUntil atomic.Int64 // unix nanoseconds; see breakerPause
}

// New returns a limiter keeping its buckets under keyPrefix in client,
// believing X-Forwarded-For only from proxies, and registers its metrics
// with reg.
func New(client redis.Scripter, keyPrefix string, rates config.RateLimits, proxies config.Proxies, reg prometheus.Registerer, logger *slog.Logger) (*Limiter, error) {
	l := &Limiter{
		client:  client,
		prefix:  keyPrefix + "rl:",
		rates:   map[Class]config.Rate{IP: rates.IP, APIKey: rates.APIKey, Login: rates.Login, Expensive: rates.Expensive},
		proxies: proxies.Prefixes(),
		logger:  logger,
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ratelimit_rejections_total",
			Help: "Requests refused with 429 by a rate limit, by class.",
		}, []string{"class"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ratelimit_errors_total",
			Help: "Rate-limit checks that could not reach Redis, by class (ip and api_key then allow, login and expensive refuse).",
		}, []string{"class"}),
	}
	for _, c := range []*prometheus.CounterVec{l.rejections, l.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ratelimit: register metrics: %w", err)
		}
	}
	for _, class := range []Class{IP, APIKey, Login, Expensive} {
		l.rejections.WithLabelValues(string(class))
		l.errors.WithLabelValues(string(class))
	}
	return l, nil
}

// Charge charges one request to every bucket of checks, in one round trip.
func (l *Limiter) Charge(ctx context.Context, checks ...Check) Decision {
	if l == nil || len(checks) == 0 {
		return Decision{Allowed: true}
	}
	if time.Now().UnixNano() < l.downUntil.Load() {
		return l.unreachable(ctx, checks, nil)
	}
	keys := make([]string, len(checks))
	args := make([]any, 0, 2*len(checks))
	for i, c := range checks {
		rate := l.rates[c.Class]
		keys[i] = l.prefix + string(c.Class) + ":" + c.Subject
		interval := rate.Period().Microseconds() / int64(rate.Limit())
		args = append(args, max(interval, 1), rate.Limit())
	}
	res, err := gcra.Run(ctx, l.client, keys, args...).Int64Slice()
	if err == nil && len(res) != 1+3*len(checks) {
		err = fmt.Errorf("script returned %d values for %d buckets", len(res), len(checks))
	}
	if err != nil {
		if ctx.Err() == nil {
			l.downUntil.Store(time.Now().Add(breakerPause).UnixNano())
		}
		return l.unreachable(ctx, checks, err)
	}

	d := Decision{Allowed: res[0] == 1, Remaining: math.MaxInt, checked: true}
	for i, c := range checks {
		remaining, reset, retry := int(res[1+3*i]), micros(res[2+3*i]), micros(res[3+3*i])
		if !d.Allowed && retry > 0 {
			if retry > d.RetryAfter {
				d.RetryAfter, d.Refused = retry, c.Class
			}
			continue
		}
		if d.Allowed && remaining < d.Remaining {
			d.Limit, d.Remaining, d.Reset = l.rates[c.Class].Limit(), remaining, reset
		}
	}
	if !d.Allowed {
		d.Limit, d.Remaining, d.Reset = l.rates[d.Refused].Limit(), 0, d.RetryAfter
		l.rejections.WithLabelValues(string(d.Refused)).Inc()
	}
	return d
}

// unreachable decides a request whose buckets could not be read.
func (l *Limiter) unreachable(ctx context.Context, checks []Check, err error) Decision {
	d := Decision{Allowed: true}
	for _, c := range checks {
		l.errors.WithLabelValues(string(c.Class)).Inc()
		if c.Class.failsClosed() {
			d = Decision{Unavailable: true, Refused: c.Class, RetryAfter: breakerPause}
		}
	}
	if err != nil {
		l.logger.WarnContext(ctx, "rate limit store unreachable", slog.Any("error", err), slog.Bool("refused", d.Unavailable))
	}
	return d
}

func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// Allow charges the request to checks and writes the RateLimit headers.
// When a limit refuses, it answers 429 rate_limited with Retry-After (or
// 503 rate_limit_unavailable when a fail-closed class cannot be checked)
// and returns false; the caller then just returns.
func (l *Limiter) Allow(w http.ResponseWriter, r *http.Request, checks ...Check) bool {
	d := l.Charge(r.Context(), checks...)
	WriteHeaders(w, d)
	switch {
	case d.Unavailable:
		httpx.Error(w, r, http.StatusServiceUnavailable, "rate_limit_unavailable", "this request cannot be rate limited right now; try again shortly")
	case !d.Allowed:
		httpx.Error(w, r, http.StatusTooManyRequests, "rate_limited", "too many requests ("+string(d.Refused)+" limit); retry after "+strconv.Itoa(seconds(d.RetryAfter))+"s")
	default:
		return true
	}
	return false
}

// WriteHeaders sets RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// (seconds) from d, and Retry-After when d refused the request.
func WriteHeaders(w http.ResponseWriter, d Decision) {
	h := w.Header()
	if d.checked {
		h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(seconds(d.Reset)))
	}
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(seconds(d.RetryAfter), 1)))
	}
}

// seconds rounds d up to whole seconds.
func seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// ClientIP returns the address of the client of r: the peer address, or,
// when the peer is a trusted proxy, the right-most address of
// X-Forwarded-For that is not a trusted proxy. Addresses a client writes
// into X-Forwarded-For itself are never believed, since only the proxies'
// own appends are taken.
func (l *Limiter) ClientIP(r *http.Request) netip.Addr {
	var proxies []netip.Prefix
	if l != nil {
		proxies = l.proxies
	}
	return ClientIP(r, proxies)
}

// ClientIP is Limiter.ClientIP with the trusted proxies given.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	addr := peer.Addr()
	if err != nil {
		addr, _ = netip.ParseAddr(r.RemoteAddr)
	}
	addr = addr.Unmap()
	if !isTrusted(addr, trusted) {
		return addr
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(hops[i])
		if err != nil {
			return addr // a proxy we trust wrote garbage: use the proxy itself
		}
		hop = hop.Unmap()
		if !isTrusted(hop, trusted) {
			return hop
		}
		addr = hop
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for hop := range strings.SplitSeq(v, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hops = append(hops, hop)
			}
		}
	}
	return hops
}

// subjectKey carries who a request counts against in the expensive class.
type subjectKey struct{}

// checkedKey marks a request whose expensive budget was already charged.
type checkedKey struct{}

// WithSubject returns a context naming the subject of the request (a user
// or an API key), for Expensive. The auth middleware sets it.
func WithSubject(ctx context.Context, subject string) context.Context {
	return context.WithValue(ctx, subjectKey{}, subject)
}

// WithExpensiveCharged marks the request's expensive budget as charged, so
// that the Expensive wrapper does not charge it twice. The auth middleware
// charges it together with the other limits when the route it is about to
// call is an Expensive route (see IsExpensive).
func WithExpensiveCharged(ctx context.Context) context.Context {
	return context.WithValue(ctx, checkedKey{}, true)
}

// Expensive marks next as an expensive route: each request also counts
// against RATE_LIMIT_EXPENSIVE for its user or API key. Register it as the
// route's handler (or wrap it only in handlers that implement
// Unwrap() http.Handler, as auth.Require does) so the auth middleware sees
// it and charges it in the same round trip as the other limits; otherwise
// it costs one more.
func (l *Limiter) Expensive(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return &expensive{limiter: l, next: next}
}

type expensive struct {
	limiter *Limiter
	next    http.Handler
}

func (e *expensive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if charged, _ := r.Context().Value(checkedKey{}).(bool); !charged {
		subject, _ := r.Context().Value(subjectKey{}).(string)
		if subject == "" {
			subject = "ip:" + e.limiter.ClientIP(r).String()
		}
		if !e.limiter.Allow(w, r, Check{Expensive, subject}) {
			return
		}
	}
	e.next.ServeHTTP(w, r)
}

// Unwrap returns the wrapped handler.
func (e *expensive) Unwrap() http.Handler { return e.next }

// IsExpensive reports whether h is an Expensive route, looking through
// handlers that implement Unwrap() http.Handler.
func IsExpensive(h http.Handler) bool {
	for range 16 {
		switch v := h.(type) {
		case *expensive:
			return true
		case interface{ Unwrap() http.Handler }:
			h = v.Unwrap()
		default:
			return false
		}
	}
	return false
}
