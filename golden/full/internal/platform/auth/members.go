package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/acme/acme/internal/platform/tenancy"
)

// Errors of membership changes.
var (
	// ErrLastOwner: the change would leave the tenant without an owner.
	ErrLastOwner = errors.New("auth: a tenant must keep at least one owner")
	// ErrAlreadyMember: the user already belongs to the tenant.
	ErrAlreadyMember = errors.New("auth: already a member")
	// ErrNoSuchUser: no user (or several) signed in with this email.
	ErrNoSuchUser = errors.New("auth: no user signed in with this email yet")
	// ErrSlugTaken: a tenant already has the slug.
	ErrSlugTaken = errors.New("auth: slug is taken")
)

// Membership is one tenant of a user and the user's role in it.
type Membership struct {
	TenantID uuid.UUID `json:"tenant_id"`
	Slug     string    `json:"slug"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
}

// Memberships reads users' memberships through the one function allowed to
// cross tenants for it (identity_user_memberships) and caches them per
// user for CacheTTL: a request of a signed-in user costs no round trip for
// its tenant check while the entry lives.
type Memberships struct {
	db    Querier
	cache *cache[uuid.UUID, []Membership]
}

// NewMemberships returns Memberships reading from db, a pool of the
// application role.
func NewMemberships(db Querier) *Memberships {
	return &Memberships{db: db, cache: newCache[uuid.UUID, []Membership](CacheTTL, maxCached, time.Now)}
}

// Of returns the memberships of user, ordered by slug.
func (m *Memberships) Of(ctx context.Context, user uuid.UUID) ([]Membership, error) {
	if ms, ok := m.cache.get(user); ok {
		return ms, nil
	}
	rows, _ := m.db.Query(ctx, `SELECT tenant_id, slug, name, role FROM identity_user_memberships($1)`, user)
	ms, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Membership])
	if err != nil {
		return nil, fmt.Errorf("auth: memberships of %s: %w", user, err)
	}
	m.cache.put(user, ms)
	return ms, nil
}

// forget drops the cached memberships of user, after a change made by this
// instance.
func (m *Memberships) forget(user uuid.UUID) { m.cache.forget(user) }

// membershipOf returns the membership of tenant among ms.
func membershipOf(ms []Membership, tenant uuid.UUID) (Membership, bool) {
	for _, m := range ms {
		if m.TenantID == tenant {
			return m, true
		}
	}
	return Membership{}, false
}

// CreateTenant creates a tenant whose owner is user, through the function
// identity_create_tenant (the application role may not write tenants).
func CreateTenant(ctx context.Context, db Querier, user uuid.UUID, slug, name string) (Membership, error) {
	rows, _ := db.Query(ctx, `SELECT id, slug, name FROM identity_create_tenant($1, $2, $3)`, user, slug, name)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[tenancy.Tenant])
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23505" {
		return Membership{}, ErrSlugTaken
	}
	if err != nil {
		return Membership{}, fmt.Errorf("auth: create tenant %q: %w", slug, err)
	}
	return Membership{TenantID: t.ID, Slug: t.Slug, Name: t.Name, Role: RoleOwner}, nil
}

// Member is a user of a tenant, as its admins see it.
type Member struct {
	UserID    uuid.UUID `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

const memberColumns = `m.user_id, u.email, u.name, m.role, m.created_at`

// ListMembers returns the members of tenant, owners first.
func ListMembers(ctx context.Context, db tenancy.Batcher, tenant uuid.UUID) ([]Member, error) {
	var ms []Member
	err := tenancy.Query(ctx, db, tenant, func(rows pgx.Rows) error {
		var err error
		ms, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Member])
		return err
	}, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, lower(u.email), m.user_id`)
	if err != nil {
		return nil, fmt.Errorf("auth: list members: %w", err)
	}
	return ms, nil
}

// AddMember makes the user who signed in with email a member of tenant
// with role. A user exists only after a first sign-in, so people are added
// once they have signed in: ErrNoSuchUser otherwise (and when several
// providers' users share the email), ErrAlreadyMember when they belong to
// the tenant already.
func AddMember(ctx context.Context, db tenancy.Batcher, tenant uuid.UUID, email string, role Role) (Member, error) {
	var m Member
	err := tenancy.Query(ctx, db, tenant, func(rows pgx.Rows) error {
		var err error
		m, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Member])
		return err
	}, `WITH u AS (
		    SELECT id, email, name FROM users WHERE lower(email) = lower($2)
		), m AS (
		    INSERT INTO memberships (tenant_id, user_id, role)
		    SELECT $1, id, $3 FROM u WHERE (SELECT count(*) FROM u) = 1
		    RETURNING user_id, role, created_at
		)
		SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM m JOIN u ON u.id = m.user_id`,
		tenant, strings.TrimSpace(email), role)
	return m, memberError("add member", err)
}

// SetRole changes the role of user in tenant. ErrNotFound when user is not
// a member, ErrLastOwner when this would demote the last owner.
func SetRole(ctx context.Context, db tenancy.Batcher, tenant, user uuid.UUID, role Role) (Member, error) {
	var m Member
	err := tenancy.Query(ctx, db, tenant, func(rows pgx.Rows) error {
		var err error
		m, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Member])
		return err
	}, `WITH m AS (
		    UPDATE memberships SET role = $2 WHERE user_id = $1 RETURNING user_id, role, created_at
		)
		SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM m JOIN users u ON u.id = m.user_id`,
		user, role)
	if errors.Is(err, pgx.ErrNoRows) {
		return Member{}, ErrNotFound
	}
	return m, memberError("set role", err)
}

// RemoveMember removes user from tenant. ErrNotFound when user is not a
// member, ErrLastOwner when user is the last owner.
func RemoveMember(ctx context.Context, db tenancy.Batcher, tenant, user uuid.UUID) error {
	tag, err := tenancy.Exec(ctx, db, tenant, `DELETE FROM memberships WHERE user_id = $1`, user)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return memberError("remove member", err)
}

// RoleOf returns the role of user in tenant, or ErrNotFound.
func RoleOf(ctx context.Context, db tenancy.Batcher, tenant, user uuid.UUID) (Role, error) {
	var role Role
	err := tenancy.Query(ctx, db, tenant, func(rows pgx.Rows) error {
		var err error
		role, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[Role])
		return err
	}, `SELECT role FROM memberships WHERE user_id = $1`, user)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("auth: role of %s: %w", user, err)
	}
	return role, nil
}

func memberError(op string, err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case pgErr.ConstraintName == "memberships_last_owner":
			return ErrLastOwner
		case pgErr.Code == "23505":
			return ErrAlreadyMember
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNoSuchUser
	}
	if err != nil {
		return fmt.Errorf("auth: %s: %w", op, err)
	}
	return nil
}

// upsertUser records a sign-in of the provider's user (issuer, subject):
// the first creates the user; every one refreshes email and name from the
// ID token. It returns the user's id.
func upsertUser(ctx context.Context, db Querier, issuer, subject, email, name string) (uuid.UUID, error) {
	rows, _ := db.Query(ctx, `
		INSERT INTO users (issuer, subject, email, name) VALUES ($1, $2, $3, $4)
		ON CONFLICT (issuer, subject) DO UPDATE
		SET email = EXCLUDED.email, name = EXCLUDED.name, last_login_at = now()
		RETURNING id`, issuer, subject, email, name)
	id, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return uuid.Nil, fmt.Errorf("auth: record user: %w", err)
	}
	return id, nil
}

// User is a person who signed in.
type User struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
}

// userByID returns the user id.
func userByID(ctx context.Context, db Querier, id uuid.UUID) (User, error) {
	rows, _ := db.Query(ctx, `SELECT id, email, name FROM users WHERE id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[User])
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: user %s: %w", id, err)
	}
	return u, nil
}
