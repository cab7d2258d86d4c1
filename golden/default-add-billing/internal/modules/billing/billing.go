// Package billing is the billing module: its public API is this
// package; its implementation lives under internal/ where no other module
// can import it.
//
// Other modules use the Service interface (build one with NewService) and
// the types below; the composition root mounts Module().
package billing

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"shop/internal/modules/billing/internal/domain"
	"shop/internal/modules/billing/internal/export"
	"shop/internal/modules/billing/internal/httpapi"
	"shop/internal/modules/billing/internal/service"
	"shop/internal/modules/billing/internal/store"
	"shop/internal/platform/module"
)

// The public types of the module.
type (
	Billing          = domain.Billing
	BillingNote      = domain.BillingNote
	BillingInput     = domain.BillingInput
	BillingPatch     = domain.BillingPatch
	BillingNoteInput = domain.BillingNoteInput
	// The types every module's domain package declares alike.
	ListParams      = domain.ListParams
	Page            = domain.Page
	NotePage        = domain.NotePage
	Service         = domain.Service
	ValidationError = domain.ValidationError
)

// MaxEmbeddedNotes bounds the notes a billing carries; the others are on
// its notes endpoint (GET /api/v1/billing/{id}/notes).
const MaxEmbeddedNotes = domain.MaxEmbeddedNotes

// ExportKind is the job kind of an export of the module's billing
// (POST /api/v1/billing/exports).
const ExportKind = export.Kind

// ExportContentType is the media type of an export's file (JSON Lines).
const ExportContentType = export.ContentType

// ErrNotFound is returned when the billing does not exist in the
// tenant.
var ErrNotFound = domain.ErrNotFound

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the module's goose migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // unreachable: the directory is embedded
	}
	return sub
}

// NewService returns the module's Service on pool, which must connect as
// the application role.
func NewService(pool *pgxpool.Pool) Service {
	return service.New(store.New(pool))
}

// Module describes the module to the composition root.
func Module() module.Definition {
	return module.Definition{
		Name:       "billing",
		Migrations: Migrations(),
		Register: func(mux *http.ServeMux, deps module.Deps) error {
			httpapi.New(NewService(deps.Pool), deps.Logger).Register(mux)
			exporter, err := export.New(deps.Pool, deps.Jobs, deps.Files)
			if err != nil {
				return err
			}
			exporter.Register(mux, deps.Logger)
			return nil
		},
	}
}
