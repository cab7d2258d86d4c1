// Package tenancy carries the current tenant through a request and scopes
// every database statement to it.
//
// Isolation is enforced by PostgreSQL, not by the application: every
// tenant-owned table has row-level security enabled and forced, with a policy
// comparing tenant_id to the transaction-local setting app.tenant_id. The
// application connects as a role that neither owns the tables nor bypasses
// RLS, so a statement that forgets its WHERE clause still sees one tenant.
//
// The setting is only ever written by [InTx], [Query] and [Exec], with
// set_config('app.tenant_id', $1, true): local to one transaction, so it can
// never leak to the next user of a pooled connection or of a PgBouncer server
// connection in transaction mode. Never use a session-level SET.
package tenancy

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// Tenant is a customer account: the unit of data isolation.
type Tenant struct {
	ID   uuid.UUID
	Slug string
	Name string
}

// ErrNoTenant is returned when an operation needs a tenant and none was given.
var ErrNoTenant = errors.New("tenancy: no tenant")

type contextKey struct{}

// WithTenant returns a copy of ctx carrying t.
func WithTenant(ctx context.Context, t Tenant) context.Context {
	return context.WithValue(ctx, contextKey{}, t)
}

// FromContext returns the tenant carried by ctx, if any.
func FromContext(ctx context.Context) (Tenant, bool) {
	t, ok := ctx.Value(contextKey{}).(Tenant)
	return t, ok && t.ID != uuid.Nil
}
