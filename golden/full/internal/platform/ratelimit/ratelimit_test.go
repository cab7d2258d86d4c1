package ratelimit_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/ratelimit"
	"github.com/acme/acme/internal/platform/redisx/redistest"
)

func rates(ip, key, login, expensive config.Rate) config.RateLimits {
	return config.RateLimits{IP: ip, APIKey: key, Login: login, Expensive: expensive}
}

func newLimiter(t *testing.T, client redis.Scripter, prefix string, r config.RateLimits) (*ratelimit.Limiter, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	l, err := ratelimit.New(client, prefix, r, config.Proxies{}, reg, discard())
	if err != nil {
		t.Fatal(err)
	}
	return l, reg
}

// TestGCRA: a budget of N per period allows a burst of N, then refuses
// with the time until one more fits, and the RateLimit numbers count down.
func TestGCRA(t *testing.T) {
	t.Parallel()
	rd := redistest.New(t)
	l, reg := newLimiter(t, rd.Client, rd.Config.KeyPrefix, rates(config.NewRate(3, time.Minute), config.NewRate(1, time.Hour), config.NewRate(1, time.Hour), config.NewRate(1, time.Hour)))
	ctx := t.Context()
	for i := 1; i <= 3; i++ {
		d := l.Charge(ctx, ratelimit.Check{Class: ratelimit.IP, Subject: "192.0.2.1"})
		if !d.Allowed || d.Limit != 3 || d.Remaining != 3-i {
			t.Fatalf("request %d: %+v; want allowed with %d remaining of 3", i, d, 3-i)
		}
	}
	d := l.Charge(ctx, ratelimit.Check{Class: ratelimit.IP, Subject: "192.0.2.1"})
	if d.Allowed || d.Refused != ratelimit.IP || d.RetryAfter <= 0 || d.RetryAfter > 20*time.Second {
		t.Fatalf("fourth request: %+v; want refused, retry within the 20s emission interval", d)
	}
	if d := l.Charge(ctx, ratelimit.Check{Class: ratelimit.IP, Subject: "192.0.2.2"}); !d.Allowed {
		t.Errorf("another IP: %+v, want allowed", d)
	}
	if n := counterValue(t, reg, "ratelimit_rejections_total", "ip"); n != 1 {
		t.Errorf("ratelimit_rejections_total{class=ip} = %v, want 1", n)
	}
}

// TestChargeIsAllOrNothing: when one bucket refuses, none is charged.
func TestChargeIsAllOrNothing(t *testing.T) {
	t.Parallel()
	rd := redistest.New(t)
	l, _ := newLimiter(t, rd.Client, rd.Config.KeyPrefix, rates(config.NewRate(5, time.Minute), config.NewRate(1, time.Hour), config.NewRate(1, time.Hour), config.NewRate(1, time.Hour)))
	ctx := t.Context()
	ip, key := ratelimit.Check{Class: ratelimit.IP, Subject: "192.0.2.9"}, ratelimit.Check{Class: ratelimit.APIKey, Subject: "sk_x"}
	if d := l.Charge(ctx, ip, key); !d.Allowed || d.Remaining != 0 || d.Limit != 1 {
		t.Fatalf("first: %+v; want allowed, the key bucket (0 of 1 left) reported", d)
	}
	for range 3 {
		if d := l.Charge(ctx, ip, key); d.Allowed || d.Refused != ratelimit.APIKey {
			t.Fatalf("key over budget: %+v; want refused by api_key", d)
		}
	}
	// The IP bucket was charged once, not four times: 4 of 5 left.
	if d := l.Charge(ctx, ip); !d.Allowed || d.Remaining != 3 {
		t.Errorf("IP after refusals: %+v; want 3 of 5 left (charged twice in all)", d)
	}
}

// TestUnreachableRedis: ip and api_key fail open, login and expensive fail
// closed; every failure is counted per class.
func TestUnreachableRedis(t *testing.T) {
	t.Parallel()
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	l, reg := newLimiter(t, down, "x:", rates(config.NewRate(1, time.Hour), config.NewRate(1, time.Hour), config.NewRate(1, time.Hour), config.NewRate(1, time.Hour)))
	ctx := context.Background()
	for _, tc := range []struct {
		class   ratelimit.Class
		allowed bool
	}{
		{ratelimit.IP, true},
		{ratelimit.APIKey, true},
		{ratelimit.Login, false},
		{ratelimit.Expensive, false},
	} {
		d := l.Charge(ctx, ratelimit.Check{Class: tc.class, Subject: "s"})
		if d.Allowed != tc.allowed || d.Unavailable == tc.allowed {
			t.Errorf("%s with Redis down: %+v; want allowed=%v", tc.class, d, tc.allowed)
		}
		if n := counterValue(t, reg, "ratelimit_errors_total", string(tc.class)); n != 1 {
			t.Errorf("ratelimit_errors_total{class=%s} = %v, want 1", tc.class, n)
		}
	}
	rec := httptest.NewRecorder()
	if l.Allow(rec, httptest.NewRequest("GET", "/auth/login", nil), ratelimit.Check{Class: ratelimit.Login, Subject: "s"}) || rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("login with Redis down: %d %v; want 503 with Retry-After", rec.Code, rec.Header())
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:5000", "", "192.0.2.1"},
		{"192.0.2.1:5000", "203.0.113.9", "192.0.2.1"},                // untrusted peer: header ignored
		{"10.1.2.3:5000", "203.0.113.9", "203.0.113.9"},               // trusted proxy
		{"10.1.2.3:5000", "198.51.100.1, 203.0.113.9", "203.0.113.9"}, // the client wrote the first hop
		{"10.1.2.3:5000", "203.0.113.9, 10.9.9.9", "203.0.113.9"},     // two proxies
		{"10.1.2.3:5000", "not-an-ip", "10.1.2.3"},
		{"127.0.0.1:5000", "", "127.0.0.1"},
		{"[::ffff:10.1.2.3]:5000", "203.0.113.9", "203.0.113.9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ratelimit.ClientIP(r, trusted).String(); got != tc.want {
			t.Errorf("ClientIP(%s, XFF %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// counterValue returns the value of the counter name{class=class} in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, class string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if mf.GetName() == name && lp.GetName() == "class" && lp.GetValue() == class {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{class=%q}", name, class)
	return 0
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
