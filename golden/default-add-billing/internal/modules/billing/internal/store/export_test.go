package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shop/internal/modules/billing/internal/domain"
)

// PlainList is the statement of List (first page) with the tenant chosen by
// a plain WHERE clause instead of row-level security, for the benchmark
// that prices the policies and the set_config batch. It exists in tests
// only: the application never filters on tenant_id itself.
func PlainList(ctx context.Context, db *pgxpool.Pool, tenantID uuid.UUID, limit int) ([]domain.Billing, error) {
	rows, _ := db.Query(ctx, selectBillingList+` WHERE i.tenant_id = $2 ORDER BY i.created_at DESC, i.id DESC LIMIT $1`, limit, tenantID)
	return pgx.CollectRows(rows, scanBilling)
}
