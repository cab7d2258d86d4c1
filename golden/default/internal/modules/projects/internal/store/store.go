// Package store reads and writes projects. Every statement runs through
// the tenancy helpers, so row-level security scopes it to one tenant; the
// queries themselves never filter on tenant_id. Each method is one statement
// and costs one round trip (tenancy.Query and tenancy.Exec); a change that
// needs several statements belongs in tenancy.InTx.
package store

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"shop/internal/modules/projects/internal/domain"
	"shop/internal/platform/tenancy"
)

// Store is the projects table and its notes.
type Store struct {
	db tenancy.Batcher
}

// New returns a Store on db, a pool connected as the application role.
func New(db tenancy.Batcher) *Store {
	return &Store{db: db}
}

// itemColumns and withNotes read projects with their notes in one
// statement: the notes are aggregated per item by a lateral join, so a page
// costs one query whatever its size. The columns match scanProject.
const (
	itemColumns = `i.id, i.name, i.description, coalesce(n.notes, '[]'::json), i.created_at, i.updated_at`
	withNotes   = `
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('id', n.id, 'body', n.body, 'created_at', n.created_at)
                    ORDER BY n.created_at, n.id) AS notes
    FROM project_notes n
    WHERE n.tenant_id = i.tenant_id AND n.project_id = i.id
) n ON true`
	selectProjects = `SELECT ` + itemColumns + ` FROM projects i` + withNotes
)

func scanProject(row pgx.CollectableRow) (domain.Project, error) {
	var it domain.Project
	err := row.Scan(&it.ID, &it.Name, &it.Description, &it.Notes, &it.CreatedAt, &it.UpdatedAt)
	return it, err
}

// Create inserts the project.
func (s *Store) Create(ctx context.Context, tenantID uuid.UUID, in domain.ProjectInput) (domain.Project, error) {
	var it domain.Project
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		it, err = pgx.CollectExactlyOneRow(rows, scanProject)
		return err
	}, `
		INSERT INTO projects (tenant_id, name, description) VALUES ($1, $2, $3)
		RETURNING id, name, description, '[]'::json, created_at, updated_at`,
		tenantID, in.Name, in.Description)
	return it, err
}

// Get returns one project with its notes, or domain.ErrNotFound.
func (s *Store) Get(ctx context.Context, tenantID, id uuid.UUID) (domain.Project, error) {
	var it domain.Project
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		it, err = pgx.CollectExactlyOneRow(rows, scanProject)
		return err
	}, selectProjects+` WHERE i.id = $1`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Project{}, domain.ErrNotFound
	}
	return it, err
}

// List returns up to limit projects after cursor (nil: from the newest),
// newest first, and whether more follow.
func (s *Store) List(ctx context.Context, tenantID uuid.UUID, limit int, cursor *domain.Cursor) ([]domain.Project, bool, error) {
	sql := selectProjects + ` ORDER BY i.created_at DESC, i.id DESC LIMIT $1`
	args := []any{limit + 1}
	if cursor != nil {
		sql = selectProjects + `
			WHERE (i.created_at, i.id) < ($2, $3)
			ORDER BY i.created_at DESC, i.id DESC LIMIT $1`
		args = append(args, cursor.CreatedAt, cursor.ID)
	}
	var items []domain.Project
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		items, err = pgx.CollectRows(rows, scanProject)
		return err
	}, sql, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	return items, more, nil
}

// Update applies p and returns the updated project, or
// domain.ErrNotFound.
func (s *Store) Update(ctx context.Context, tenantID, id uuid.UUID, p domain.ProjectPatch) (domain.Project, error) {
	var it domain.Project
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		it, err = pgx.CollectExactlyOneRow(rows, scanProject)
		return err
	}, `
		WITH i AS (
		    UPDATE projects
		    SET name = coalesce($2, name), description = coalesce($3, description), updated_at = now()
		    WHERE id = $1
		    RETURNING *
		)
		SELECT `+itemColumns+` FROM i`+withNotes,
		id, p.Name, p.Description)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Project{}, domain.ErrNotFound
	}
	return it, err
}

// Delete removes the project and its notes, or returns
// domain.ErrNotFound.
func (s *Store) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	tag, err := tenancy.Exec(ctx, s.db, tenantID, `DELETE FROM projects WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = domain.ErrNotFound
	}
	return err
}

// AddNote attaches a note to the project, or returns domain.ErrNotFound.
func (s *Store) AddNote(ctx context.Context, tenantID, projectID uuid.UUID, in domain.ProjectNoteInput) (domain.ProjectNote, error) {
	var n domain.ProjectNote
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		n, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.ProjectNote])
		return err
	}, `
		INSERT INTO project_notes (tenant_id, project_id, body) VALUES ($1, $2, $3)
		RETURNING id, body, created_at`,
		tenantID, projectID, in.Body)
	// The composite foreign key (tenant_id, project_id) fails when
	// the project is missing or belongs to another tenant.
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23503" {
		return domain.ProjectNote{}, domain.ErrNotFound
	}
	return n, err
}
