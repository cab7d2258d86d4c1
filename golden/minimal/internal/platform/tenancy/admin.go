package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The functions of this file create, rename and list tenants. The app role
// may only read the tenants tables, so they need db connected as the schema
// owner (MIGRATE_DATABASE_URL): the operator commands `tenants create`,
// `tenants rename` and `tenants list` call them.

// ErrSlugTaken is returned when a slug names another tenant, now or before
// a rename: a slug never names a second tenant.
var ErrSlugTaken = errors.New("tenancy: slug is taken")

// MaxNameLength bounds a tenant's name, as the tenants table's CHECK does.
const MaxNameLength = 200

// TenantRecord is a tenant as the operator commands show it.
type TenantRecord struct {
	Tenant
	CreatedAt time.Time
	// FormerSlugs are the slugs the tenant had before; they still name it.
	FormerSlugs []string
}

// CheckSlug explains why s cannot be a tenant slug, or returns nil.
func CheckSlug(s string) error {
	if !ValidSlug(s) {
		return fmt.Errorf("invalid slug %q: use 1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit", s)
	}
	return nil
}

// CheckName explains why s cannot be a tenant's name, or returns nil.
func CheckName(s string) error {
	switch {
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return fmt.Errorf("invalid name %q: it must be UTF-8 text without NUL characters", s)
	case strings.TrimSpace(s) == "":
		return errors.New("invalid name: it must not be blank")
	case utf8.RuneCountInString(s) > MaxNameLength:
		return fmt.Errorf("invalid name: it has more than %d characters", MaxNameLength)
	}
	return nil
}

// CreateTenant adds a tenant. It returns ErrSlugTaken when slug names another
// tenant, now or in the past.
func CreateTenant(ctx context.Context, db Querier, slug, name string) (Tenant, error) {
	if err := errors.Join(CheckSlug(slug), CheckName(name)); err != nil {
		return Tenant{}, err
	}
	rows, _ := db.Query(ctx, `INSERT INTO tenants (slug, name) VALUES ($1, $2) RETURNING id, slug, name`, slug, name)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Tenant])
	if err != nil {
		return Tenant{}, slugError("create tenant "+slug, err)
	}
	return t, nil
}

// RenameTenant gives the tenant whose current slug is slug the slug newSlug. The
// old slug keeps naming the tenant and can never name another. It returns
// ErrUnknownTenant when no tenant's current slug is slug, and ErrSlugTaken
// when newSlug names another tenant, now or in the past.
func RenameTenant(ctx context.Context, db Querier, slug, newSlug string) (Tenant, error) {
	if err := CheckSlug(newSlug); err != nil {
		return Tenant{}, err
	}
	rows, _ := db.Query(ctx, `UPDATE tenants SET slug = $2 WHERE slug = $1 RETURNING id, slug, name`, slug, newSlug)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Tenant])
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, fmt.Errorf("rename tenant %s: %w", slug, ErrUnknownTenant)
	}
	if err != nil {
		return Tenant{}, slugError("rename tenant "+slug, err)
	}
	return t, nil
}

// ListTenants returns every tenant, oldest first, with its former slugs.
func ListTenants(ctx context.Context, db Querier) ([]TenantRecord, error) {
	rows, _ := db.Query(ctx, `
		SELECT t.id, t.slug, t.name, t.created_at,
		       coalesce(array_agg(s.slug ORDER BY s.created_at, s.slug) FILTER (WHERE s.slug <> t.slug), '{}')
		FROM tenants t LEFT JOIN tenant_slugs s ON s.tenant_id = t.id
		GROUP BY t.id
		ORDER BY t.created_at, t.slug`)
	records, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (TenantRecord, error) {
		var r TenantRecord
		return r, row.Scan(&r.ID, &r.Slug, &r.Name, &r.CreatedAt, &r.FormerSlugs)
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return records, nil
}

// slugError turns the unique violations of a taken slug into ErrSlugTaken.
func slugError(op string, err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" {
		return fmt.Errorf("%s: %w", op, ErrSlugTaken)
	}
	return fmt.Errorf("%s: %w", op, err)
}
