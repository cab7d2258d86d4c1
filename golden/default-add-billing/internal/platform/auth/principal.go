// Package auth identifies who makes a request and what they may do.
//
// This file holds the Principal contract every package codes against: the
// request's authenticated user or API key, its tenant and its role there.
// Authentication itself (sessions, OIDC, API keys) lives beside it.
package auth

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"shop/internal/platform/httpx"
)

// Role is a principal's role in a tenant: "owner" > "admin" > "member".
type Role string

// rank orders the roles; an unknown role ranks below every known one.
func rank(r Role) int {
	switch r {
	case "owner":
		return 3
	case "admin":
		return 2
	case "member":
		return 1
	default:
		return 0
	}
}

// Principal is who a request (or a job enqueued by one) acts as.
type Principal struct {
	UserID   uuid.UUID // zero for an API key
	APIKeyID uuid.UUID // zero for a session
	TenantID uuid.UUID // the tenant this request acts in (always set under /api/v1/)
	Role     Role      // the principal's role in TenantID
}

type contextKey struct{}

// FromContext returns the principal carried by ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(Principal)
	return p, ok
}

// WithPrincipal returns a copy of ctx carrying p. The authentication
// middleware uses it for requests; tests and job workers use it directly.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// Require returns middleware that lets a request through only when its
// principal's role is min or above: 401 unauthenticated without a principal,
// 403 forbidden below min.
func Require(min Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			switch {
			case !ok:
				httpx.Error(w, r, http.StatusUnauthorized, "unauthenticated", "this request needs a signed-in user or an API key")
			case rank(p.Role) == 0 || rank(p.Role) < rank(min):
				httpx.Error(w, r, http.StatusForbidden, "forbidden", "this action needs the "+string(min)+" role or above")
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
