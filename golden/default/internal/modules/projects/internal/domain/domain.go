// Package domain holds the types, rules and errors of the projects
// module. The module's root package re-exports them as its public API.
package domain

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Project is one project of a tenant, with its newest notes.
type Project struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	// Notes are the newest notes, newest first: at most MaxEmbeddedNotes,
	// so that the size of a project (and of a page) is bounded.
	Notes []ProjectNote `json:"notes"`
	// NotesCount counts them all; NotesURL pages through them.
	NotesCount int       `json:"notes_count"`
	NotesURL   string    `json:"notes_url,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ProjectNote is a remark attached to the project.
type ProjectNote struct {
	ID        uuid.UUID `json:"id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// ProjectInput is what a new project is made from.
type ProjectInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ProjectPatch changes the fields that are not nil.
type ProjectPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// ProjectNoteInput is what a new note is made from.
type ProjectNoteInput struct {
	Body string `json:"body"`
}

// ListParams selects a page of projects or of notes, newest first.
type ListParams struct {
	// Limit is the page size: 1 to MaxPageSize; 0 means DefaultPageSize.
	Limit int
	// After is the NextCursor of the previous page, or "" for the first.
	After string
}

// Page is one page of projects.
type Page struct {
	Items []Project `json:"items"`
	// NextCursor fetches the next page; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// NotePage is one page of the notes of a project, newest first.
type NotePage struct {
	Items []ProjectNote `json:"items"`
	// NextCursor fetches the next page; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	// MaxEmbeddedNotes bounds the notes a project carries; the rest
	// are on its notes endpoint.
	MaxEmbeddedNotes = 3
)

// Field limits, also enforced by the table's CHECK constraints.
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 2000
	MaxNoteLength        = 2000
)

// Service is the use-case API of the module. Every method works within one
// tenant; projects of other tenants do not exist for it.
type Service interface {
	Create(ctx context.Context, tenantID uuid.UUID, in ProjectInput) (Project, error)
	Get(ctx context.Context, tenantID, id uuid.UUID) (Project, error)
	List(ctx context.Context, tenantID uuid.UUID, p ListParams) (Page, error)
	Update(ctx context.Context, tenantID, id uuid.UUID, p ProjectPatch) (Project, error)
	Delete(ctx context.Context, tenantID, id uuid.UUID) error
	AddNote(ctx context.Context, tenantID, projectID uuid.UUID, in ProjectNoteInput) (ProjectNote, error)
	ListNotes(ctx context.Context, tenantID, projectID uuid.UUID, p ListParams) (NotePage, error)
}

// ErrNotFound is returned when the project does not exist in the
// tenant.
var ErrNotFound = errors.New("project not found")

// ValidationError lists the invalid fields of an input, by JSON name.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for name := range e.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + " " + e.Fields[name]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

type validator map[string]string

func (v validator) text(field, value string, required bool, max int) {
	n := utf8.RuneCountInString(value)
	switch {
	case !utf8.ValidString(value):
		v[field] = "must be valid UTF-8"
	case strings.ContainsRune(value, 0):
		// PostgreSQL's text cannot hold NUL.
		v[field] = "must not contain NUL characters"
	case required && strings.TrimSpace(value) == "":
		v[field] = "is required"
	case n > max:
		v[field] = fmt.Sprintf("must be at most %d characters", max)
	}
}

func (v validator) err() error {
	if len(v) == 0 {
		return nil
	}
	return &ValidationError{Fields: v}
}

// Validate reports the invalid fields of in.
func (in ProjectInput) Validate() error {
	v := validator{}
	v.text("name", in.Name, true, MaxNameLength)
	v.text("description", in.Description, false, MaxDescriptionLength)
	return v.err()
}

// Validate reports the invalid fields of p.
func (p ProjectPatch) Validate() error {
	v := validator{}
	if p.Name == nil && p.Description == nil {
		v["name"] = "or description must be given"
	}
	if p.Name != nil {
		v.text("name", *p.Name, true, MaxNameLength)
	}
	if p.Description != nil {
		v.text("description", *p.Description, false, MaxDescriptionLength)
	}
	return v.err()
}

// Validate reports the invalid fields of in.
func (in ProjectNoteInput) Validate() error {
	v := validator{}
	v.text("body", in.Body, true, MaxNoteLength)
	return v.err()
}

// Cursor is a position in the list order (created_at DESC, id DESC), of
// projects or of notes.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Position returns the place of it in the list order.
func (it Project) Position() Cursor {
	return Cursor{CreatedAt: it.CreatedAt, ID: it.ID}
}

// Position returns the place of n in the order of notes.
func (n ProjectNote) Position() Cursor {
	return Cursor{CreatedAt: n.CreatedAt, ID: n.ID}
}

// Encode returns the opaque form of c used in NextCursor.
func (c Cursor) Encode() string {
	raw := strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Normalize checks p and fills in defaults. It returns the decoded cursor,
// nil for the first page.
func (p *ListParams) Normalize() (*Cursor, error) {
	v := validator{}
	switch {
	case p.Limit == 0:
		p.Limit = DefaultPageSize
	case p.Limit < 1 || p.Limit > MaxPageSize:
		v["limit"] = fmt.Sprintf("must be between 1 and %d", MaxPageSize)
	}
	var cursor *Cursor
	if p.After != "" {
		c, err := decodeCursor(p.After)
		if err != nil {
			v["after"] = "is not a cursor returned by this API"
		}
		cursor = c
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return cursor, nil
}

// The times a cursor may hold: years 1 to 9999.
var (
	minCursorTime = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxCursorTime = time.Date(9999, time.December, 31, 23, 59, 59, 999_999_000, time.UTC)
)

func decodeCursor(s string) (*Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, errors.New("malformed cursor")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return nil, err
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, err
	}
	at := time.UnixMicro(us).UTC()
	if at.Before(minCursorTime) || at.After(maxCursorTime) {
		// No row has such a time, and PostgreSQL refuses some of them.
		return nil, errors.New("cursor time out of range")
	}
	return &Cursor{CreatedAt: at, ID: uid}, nil
}
