package auth

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/acme/acme/internal/platform/httpx"
)

// Role is a principal's role in a tenant: "owner" > "admin" > "member".
type Role string

// The roles, from the most to the least privileged.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// rank orders roles; an unknown role ranks below every known one.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	default:
		return 0
	}
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r is min or a more privileged role.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// Principal is who a request acts for: a signed-in user (UserID set) or an
// API key (APIKeyID set), in one tenant.
type Principal struct {
	UserID   uuid.UUID // zero for an API key
	APIKeyID uuid.UUID // zero for a session
	TenantID uuid.UUID // the tenant this request acts in (always set under /api/v1/ module routes)
	Role     Role      // the principal's role in TenantID
}

// IsUser reports whether p is a signed-in user.
func (p Principal) IsUser() bool { return p.UserID != uuid.Nil }

// IsAPIKey reports whether p is an API key.
func (p Principal) IsAPIKey() bool { return p.APIKeyID != uuid.Nil }

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p (the auth middleware does
// this for every request; tests and jobs call it directly).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && (p.IsUser() || p.IsAPIKey())
}

// Require returns middleware that lets a request through only when its
// principal's role in the request's tenant is min or above: without a
// principal it answers 401 unauthenticated, below min 403 forbidden.
func Require(min Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return &requireRole{min: min, next: next}
	}
}

type requireRole struct {
	min  Role
	next http.Handler
}

func (h *requireRole) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := FromContext(r.Context())
	switch {
	case !ok:
		unauthenticated(w, r)
	case !p.Role.AtLeast(h.min):
		httpx.Error(w, r, http.StatusForbidden, "forbidden", "this needs the "+string(h.min)+" role in the tenant")
	default:
		h.next.ServeHTTP(w, r)
	}
}

// Unwrap returns the wrapped handler, so that route markers such as
// ratelimit.Expensive stay visible through Require.
func (h *requireRole) Unwrap() http.Handler { return h.next }

func unauthenticated(w http.ResponseWriter, r *http.Request) {
	httpx.Error(w, r, http.StatusUnauthorized, "unauthenticated", "sign in, or send an API key as Authorization: Bearer <key>")
}
