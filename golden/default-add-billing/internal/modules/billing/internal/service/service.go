// Package service implements domain.Service: it validates input and calls
// the store.
package service

import (
	"context"

	"github.com/google/uuid"

	"shop/internal/modules/billing/internal/domain"
	"shop/internal/modules/billing/internal/store"
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
func (s *Service) Create(ctx context.Context, tenantID uuid.UUID, in domain.BillingInput) (domain.Billing, error) {
	if err := in.Validate(); err != nil {
		return domain.Billing{}, err
	}
	return s.store.Create(ctx, tenantID, in)
}

// Get implements domain.Service.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (domain.Billing, error) {
	return s.store.Get(ctx, tenantID, id)
}

// List implements domain.Service.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, p domain.ListParams) (domain.Page, error) {
	cursor, err := p.Normalize()
	if err != nil {
		return domain.Page{}, err
	}
	items, more, err := s.store.List(ctx, tenantID, p.Limit, cursor)
	if err != nil {
		return domain.Page{}, err
	}
	page := domain.Page{Items: items}
	if more {
		last := items[len(items)-1]
		page.NextCursor = domain.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return page, nil
}

// Update implements domain.Service.
func (s *Service) Update(ctx context.Context, tenantID, id uuid.UUID, p domain.BillingPatch) (domain.Billing, error) {
	if err := p.Validate(); err != nil {
		return domain.Billing{}, err
	}
	return s.store.Update(ctx, tenantID, id, p)
}

// Delete implements domain.Service.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.store.Delete(ctx, tenantID, id)
}

// AddNote implements domain.Service.
func (s *Service) AddNote(ctx context.Context, tenantID, billingID uuid.UUID, in domain.BillingNoteInput) (domain.BillingNote, error) {
	if err := in.Validate(); err != nil {
		return domain.BillingNote{}, err
	}
	return s.store.AddNote(ctx, tenantID, billingID, in)
}
