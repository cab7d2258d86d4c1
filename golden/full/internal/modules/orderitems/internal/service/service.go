// Package service implements domain.Service: it validates input and calls
// the store.
package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/acme/acme/internal/modules/orderitems/internal/domain"
	"github.com/acme/acme/internal/modules/orderitems/internal/store"
)

// Service implements domain.Service.
type Service struct {
	store *store.Store
}

var _ domain.Service = (*Service)(nil)

// New returns a Service over st.
func New(st *store.Store) *Service {
	return &Service{store: st}
}

// Create implements domain.Service.
func (s *Service) Create(ctx context.Context, tenantID uuid.UUID, in domain.OrderItemInput) (domain.OrderItem, error) {
	if err := in.Validate(); err != nil {
		return domain.OrderItem{}, err
	}
	return s.store.Create(ctx, tenantID, in)
}

// Get implements domain.Service.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (domain.OrderItem, error) {
	return s.store.Get(ctx, tenantID, id)
}

// List implements domain.Service.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, p domain.ListParams) (domain.Page, error) {
	items, next, err := listPage(p, func(limit int, after *domain.Cursor) ([]domain.OrderItem, bool, error) {
		return s.store.List(ctx, tenantID, limit, after)
	}, domain.OrderItem.Position)
	return domain.Page{Items: items, NextCursor: next}, err
}

// Update implements domain.Service.
func (s *Service) Update(ctx context.Context, tenantID, id uuid.UUID, p domain.OrderItemPatch) (domain.OrderItem, error) {
	if err := p.Validate(); err != nil {
		return domain.OrderItem{}, err
	}
	return s.store.Update(ctx, tenantID, id, p)
}

// Delete implements domain.Service.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.store.Delete(ctx, tenantID, id)
}

// AddNote implements domain.Service.
func (s *Service) AddNote(ctx context.Context, tenantID, orderItemID uuid.UUID, in domain.OrderItemNoteInput) (domain.OrderItemNote, error) {
	if err := in.Validate(); err != nil {
		return domain.OrderItemNote{}, err
	}
	return s.store.AddNote(ctx, tenantID, orderItemID, in)
}

// ListNotes implements domain.Service.
func (s *Service) ListNotes(ctx context.Context, tenantID, orderItemID uuid.UUID, p domain.ListParams) (domain.NotePage, error) {
	notes, next, err := listPage(p, func(limit int, after *domain.Cursor) ([]domain.OrderItemNote, bool, error) {
		return s.store.ListNotes(ctx, tenantID, orderItemID, limit, after)
	}, domain.OrderItemNote.Position)
	return domain.NotePage{Items: notes, NextCursor: next}, err
}

// listPage checks p and reads one page with list, which returns up to
// limit entries after the cursor (nil: from the newest) and whether more
// follow. It returns the entries and the cursor of the next page ("" on
// the last), or nil and the error.
func listPage[T any](p domain.ListParams, list func(limit int, after *domain.Cursor) ([]T, bool, error), position func(T) domain.Cursor) ([]T, string, error) {
	after, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	entries, more, err := list(p.Limit, after)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = position(entries[len(entries)-1]).Encode()
	}
	return entries, next, nil
}
