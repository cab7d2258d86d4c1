// Package store reads and writes projects. Every statement runs through
// the tenancy helpers, so row-level security scopes it to one tenant; the
// queries themselves never filter on tenant_id. Each method is one statement
// and costs one round trip (tenancy.Query and tenancy.Exec); a change that
// needs several statements belongs in tenancy.InTx.
package store

import (
	"context"
	"errors"
	"strconv"
	"time"

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

// itemColumns and withNotes read projects with their newest notes in
// one statement: at most domain.MaxEmbeddedNotes notes per item, aggregated
// by a lateral join over the notes index, and the item's notes_count (kept
// by a trigger), so a page costs one query and its size is bounded whatever
// the number of notes. The notes come as one array per column, which pgx
// decodes from PostgreSQL's binary format at a fraction of the cost of
// parsing them from JSON. The columns match scanProject.
var (
	itemColumns = `i.id, i.name, i.description, n.note_ids, n.note_bodies, n.note_times, i.notes_count, i.created_at, i.updated_at`
	withNotes   = `
LEFT JOIN LATERAL (
    SELECT array_agg(n.id ORDER BY n.created_at DESC, n.id DESC) AS note_ids,
           array_agg(n.body ORDER BY n.created_at DESC, n.id DESC) AS note_bodies,
           array_agg(n.created_at ORDER BY n.created_at DESC, n.id DESC) AS note_times
    FROM (
        SELECT n.id, n.body, n.created_at FROM project_notes n
        WHERE n.tenant_id = i.tenant_id AND n.project_id = i.id
        ORDER BY n.created_at DESC, n.id DESC
        LIMIT ` + strconv.Itoa(domain.MaxEmbeddedNotes) + `
    ) n
) n ON true`
	selectProjects = `SELECT ` + itemColumns + ` FROM projects i` + withNotes
)

func scanProject(row pgx.CollectableRow) (domain.Project, error) {
	var (
		it    domain.Project
		notes noteColumns
	)
	err := row.Scan(&it.ID, &it.Name, &it.Description, &notes.ids, &notes.bodies, &notes.times, &it.NotesCount, &it.CreatedAt, &it.UpdatedAt)
	it.Notes = notes.zip()
	return it, err
}

// noteColumns are the embedded notes of one row, a column each (NULL, and
// so empty, for an item without notes).
type noteColumns struct {
	ids    []uuid.UUID
	bodies []string
	times  []time.Time
}

// zip returns the notes, newest first; never nil.
func (c noteColumns) zip() []domain.ProjectNote {
	notes := make([]domain.ProjectNote, min(len(c.ids), len(c.bodies), len(c.times)))
	for i := range notes {
		notes[i] = domain.ProjectNote{ID: c.ids[i], Body: c.bodies[i], CreatedAt: c.times[i]}
	}
	return notes
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
		RETURNING id, name, description, NULL::uuid[], NULL::text[], NULL::timestamptz[], notes_count, created_at, updated_at`,
		tenantID, in.Name, in.Description)
	return it, err
}

// Get returns one project with its newest notes, or domain.ErrNotFound.
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

// ListNotes returns up to limit notes of the project after cursor (nil: from
// the newest), newest first, and whether more follow; or domain.ErrNotFound
// when the project does not exist. One statement: the lateral join yields
// one row of NULLs for a project without notes, and no row for a missing one.
func (s *Store) ListNotes(ctx context.Context, tenantID, projectID uuid.UUID, limit int, cursor *domain.Cursor) ([]domain.ProjectNote, bool, error) {
	after := ""
	args := []any{projectID, limit + 1}
	if cursor != nil {
		after = ` AND (n.created_at, n.id) < ($3, $4)`
		args = append(args, cursor.CreatedAt, cursor.ID)
	}
	found := false
	notes := make([]domain.ProjectNote, 0, limit+1)
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		for rows.Next() {
			found = true
			var id *uuid.UUID
			var body *string
			var createdAt *time.Time
			if err := rows.Scan(&id, &body, &createdAt); err != nil {
				return err
			}
			if id != nil {
				notes = append(notes, domain.ProjectNote{ID: *id, Body: *body, CreatedAt: *createdAt})
			}
		}
		return rows.Err()
	}, `
		SELECT n.id, n.body, n.created_at
		FROM projects i
		LEFT JOIN LATERAL (
		    SELECT n.id, n.body, n.created_at FROM project_notes n
		    WHERE n.tenant_id = i.tenant_id AND n.project_id = i.id`+after+`
		    ORDER BY n.created_at DESC, n.id DESC
		    LIMIT $2
		) n ON true
		WHERE i.id = $1
		ORDER BY n.created_at DESC, n.id DESC`, args...)
	if err != nil {
		return nil, false, err
	}
	if !found {
		return nil, false, domain.ErrNotFound
	}
	more := len(notes) > limit
	if more {
		notes = notes[:limit]
	}
	return notes, more, nil
}
