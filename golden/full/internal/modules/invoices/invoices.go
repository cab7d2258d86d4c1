// Package invoices is the invoices module: its public API is this
// package; its implementation lives under internal/ where no other module
// can import it.
//
// Other modules use the Service interface (build one with NewService) and
// the types below; the composition root mounts Module().
package invoices

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/modules/invoices/internal/domain"
	"github.com/acme/acme/internal/modules/invoices/internal/export"
	"github.com/acme/acme/internal/modules/invoices/internal/httpapi"
	"github.com/acme/acme/internal/modules/invoices/internal/service"
	"github.com/acme/acme/internal/modules/invoices/internal/store"
	"github.com/acme/acme/internal/platform/module"
)

// The public types of the module.
type (
	Invoice          = domain.Invoice
	InvoiceNote      = domain.InvoiceNote
	InvoiceInput     = domain.InvoiceInput
	InvoicePatch     = domain.InvoicePatch
	InvoiceNoteInput = domain.InvoiceNoteInput
	// The types every module's domain package declares alike.
	ListParams      = domain.ListParams
	Page            = domain.Page
	NotePage        = domain.NotePage
	Service         = domain.Service
	ValidationError = domain.ValidationError
)

// MaxEmbeddedNotes bounds the notes a invoice carries; the others are on
// its notes endpoint (GET /api/v1/invoices/{id}/notes).
const MaxEmbeddedNotes = domain.MaxEmbeddedNotes

// ExportKind is the job kind of an export of the module's invoices
// (POST /api/v1/invoices/exports).
const ExportKind = export.Kind

// ExportContentType is the media type of an export's file (JSON Lines).
const ExportContentType = export.ContentType

// ErrNotFound is returned when the invoice does not exist in the
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
		Name:       "invoices",
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
