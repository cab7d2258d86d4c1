// Package store reads and writes invoices. Every statement runs through
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

	"github.com/acme/acme/internal/modules/invoices/internal/domain"
	"github.com/acme/acme/internal/platform/tenancy"
)

// Store is the invoices table and its notes.
type Store struct {
	db tenancy.Batcher
}

// New returns a Store on db, a pool connected as the application role.
func New(db tenancy.Batcher) *Store {
	return &Store{db: db}
}

// itemColumns and withNotes read invoices with their newest notes in
// one statement: at most domain.MaxEmbeddedNotes notes per item, aggregated
// by a lateral join over the notes index, and the item's notes_count (kept
// by a trigger), so a page costs one query and its size is bounded whatever
// the number of notes. The notes come as one array per column, which pgx
// decodes from PostgreSQL's binary format at a fraction of the cost of
// parsing them from JSON. The columns match scanInvoice.
var (
	itemColumns = `i.id, i.name, i.description, n.note_ids, n.note_bodies, n.note_times, i.notes_count, i.created_at, i.updated_at`
	withNotes   = `
LEFT JOIN LATERAL (
    SELECT array_agg(n.id ORDER BY n.created_at DESC, n.id DESC) AS note_ids,
           array_agg(n.body ORDER BY n.created_at DESC, n.id DESC) AS note_bodies,
           array_agg(n.created_at ORDER BY n.created_at DESC, n.id DESC) AS note_times
    FROM (
        SELECT n.id, n.body, n.created_at FROM invoice_notes n
        WHERE n.tenant_id = i.tenant_id AND n.invoice_id = i.id
        ORDER BY n.created_at DESC, n.id DESC
        LIMIT ` + strconv.Itoa(domain.MaxEmbeddedNotes) + `
    ) n
) n ON true`
	selectInvoices = `SELECT ` + itemColumns + ` FROM invoices i` + withNotes
)

func scanInvoice(row pgx.CollectableRow) (domain.Invoice, error) {
	var (
		it    domain.Invoice
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
func (c noteColumns) zip() []domain.InvoiceNote {
	notes := make([]domain.InvoiceNote, min(len(c.ids), len(c.bodies), len(c.times)))
	for i := range notes {
		notes[i] = domain.InvoiceNote{ID: c.ids[i], Body: c.bodies[i], CreatedAt: c.times[i]}
	}
	return notes
}

// Create inserts the invoice.
func (s *Store) Create(ctx context.Context, tenantID uuid.UUID, in domain.InvoiceInput) (domain.Invoice, error) {
	var it domain.Invoice
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		it, err = pgx.CollectExactlyOneRow(rows, scanInvoice)
		return err
	}, `
		INSERT INTO invoices (tenant_id, name, description) VALUES ($1, $2, $3)
		RETURNING id, name, description, NULL::uuid[], NULL::text[], NULL::timestamptz[], notes_count, created_at, updated_at`,
		tenantID, in.Name, in.Description)
	return it, err
}

// Get returns one invoice with its newest notes, or domain.ErrNotFound.
func (s *Store) Get(ctx context.Context, tenantID, id uuid.UUID) (domain.Invoice, error) {
	var it domain.Invoice
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		it, err = pgx.CollectExactlyOneRow(rows, scanInvoice)
		return err
	}, selectInvoices+` WHERE i.id = $1`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Invoice{}, domain.ErrNotFound
	}
	return it, err
}

// List returns up to limit invoices after cursor (nil: from the newest),
// newest first, and whether more follow.
func (s *Store) List(ctx context.Context, tenantID uuid.UUID, limit int, cursor *domain.Cursor) ([]domain.Invoice, bool, error) {
	sql := selectInvoices + ` ORDER BY i.created_at DESC, i.id DESC LIMIT $1`
	args := []any{limit + 1}
	if cursor != nil {
		sql = selectInvoices + `
			WHERE (i.created_at, i.id) < ($2, $3)
			ORDER BY i.created_at DESC, i.id DESC LIMIT $1`
		args = append(args, cursor.CreatedAt, cursor.ID)
	}
	var items []domain.Invoice
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		items, err = pgx.CollectRows(rows, scanInvoice)
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

// Update applies p and returns the updated invoice, or
// domain.ErrNotFound.
func (s *Store) Update(ctx context.Context, tenantID, id uuid.UUID, p domain.InvoicePatch) (domain.Invoice, error) {
	var it domain.Invoice
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		it, err = pgx.CollectExactlyOneRow(rows, scanInvoice)
		return err
	}, `
		WITH i AS (
		    UPDATE invoices
		    SET name = coalesce($2, name), description = coalesce($3, description), updated_at = now()
		    WHERE id = $1
		    RETURNING *
		)
		SELECT `+itemColumns+` FROM i`+withNotes,
		id, p.Name, p.Description)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Invoice{}, domain.ErrNotFound
	}
	return it, err
}

// Delete removes the invoice and its notes, or returns
// domain.ErrNotFound.
func (s *Store) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	tag, err := tenancy.Exec(ctx, s.db, tenantID, `DELETE FROM invoices WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = domain.ErrNotFound
	}
	return err
}

// AddNote attaches a note to the invoice, or returns domain.ErrNotFound.
func (s *Store) AddNote(ctx context.Context, tenantID, invoiceID uuid.UUID, in domain.InvoiceNoteInput) (domain.InvoiceNote, error) {
	var n domain.InvoiceNote
	err := tenancy.Query(ctx, s.db, tenantID, func(rows pgx.Rows) error {
		var err error
		n, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.InvoiceNote])
		return err
	}, `
		INSERT INTO invoice_notes (tenant_id, invoice_id, body) VALUES ($1, $2, $3)
		RETURNING id, body, created_at`,
		tenantID, invoiceID, in.Body)
	// The composite foreign key (tenant_id, invoice_id) fails when
	// the invoice is missing or belongs to another tenant.
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "23503" {
		return domain.InvoiceNote{}, domain.ErrNotFound
	}
	return n, err
}

// ListNotes returns up to limit notes of the invoice after cursor (nil: from
// the newest), newest first, and whether more follow; or domain.ErrNotFound
// when the invoice does not exist. One statement: the lateral join yields
// one row of NULLs for a invoice without notes, and no row for a missing one.
func (s *Store) ListNotes(ctx context.Context, tenantID, invoiceID uuid.UUID, limit int, cursor *domain.Cursor) ([]domain.InvoiceNote, bool, error) {
	after := ""
	args := []any{invoiceID, limit + 1}
	if cursor != nil {
		after = ` AND (n.created_at, n.id) < ($3, $4)`
		args = append(args, cursor.CreatedAt, cursor.ID)
	}
	found := false
	notes := make([]domain.InvoiceNote, 0, limit+1)
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
				notes = append(notes, domain.InvoiceNote{ID: *id, Body: *body, CreatedAt: *createdAt})
			}
		}
		return rows.Err()
	}, `
		SELECT n.id, n.body, n.created_at
		FROM invoices i
		LEFT JOIN LATERAL (
		    SELECT n.id, n.body, n.created_at FROM invoice_notes n
		    WHERE n.tenant_id = i.tenant_id AND n.invoice_id = i.id`+after+`
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
