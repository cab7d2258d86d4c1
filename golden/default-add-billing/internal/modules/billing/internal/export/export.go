// Package export writes all of a tenant's billing to a file, in a
// background job: the module's example of work that takes longer than a
// request should (see package jobs).
//
// POST /api/v1/billing/exports answers 202 Accepted at once with the job id
// and a Location to its status; the job streams the tenant's billing
// page by page (memory stays bounded by one page) as JSON Lines into a
// file in object storage; the completed status links to the file, whose
// GET returns a signed download link.
package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shop/internal/modules/billing/internal/domain"
	"shop/internal/modules/billing/internal/store"
	"shop/internal/platform/files"
	"shop/internal/platform/jobs"
	"shop/internal/platform/tenancy"
)

// Kind is the job kind of an export.
const Kind = "billing.export"

// ContentType is the format of an export: JSON Lines, one billing (with
// its notes) per line.
const ContentType = "application/x-ndjson"

// pageSize is how many billing the job holds in memory at once.
const pageSize = 500

// Result is what a completed export reports in its job status.
type Result struct {
	// File is the API path of the exported file; its GET has the download link.
	File   string    `json:"file"`
	FileID uuid.UUID `json:"file_id"`
	Items  int       `json:"items"`
}

// Exporter starts and runs exports.
type Exporter struct {
	pool  *pgxpool.Pool
	store *store.Store
	jobs  *jobs.Queue
	files *files.Service
}

// New returns an Exporter and registers its job kind on queue.
func New(pool *pgxpool.Pool, queue *jobs.Queue, fs *files.Service) (*Exporter, error) {
	e := &Exporter{pool: pool, store: store.New(pool), jobs: queue, files: fs}
	if err := queue.Handle(Kind, e.run); err != nil {
		return nil, err
	}
	return e, nil
}

// Start enqueues an export of tenantID's billing and returns the job's id.
func (e *Exporter) Start(ctx context.Context, tenantID uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := tenancy.InTx(ctx, e.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		id, err = e.jobs.Enqueue(ctx, tx, tenantID, Kind, struct{}{})
		return err
	})
	if err != nil {
		return uuid.Nil, fmt.Errorf("start export: %w", err)
	}
	return id, nil
}

// run is the export job. The file takes the job's id, so a retried attempt
// replaces it.
func (e *Exporter) run(ctx context.Context, job jobs.Job) (any, error) {
	items := 0
	name := "billing-" + time.Now().UTC().Format("20060102-150405") + ".jsonl"
	f, err := e.files.Put(ctx, job.TenantID, files.Object{ID: job.ID, Name: name, ContentType: ContentType}, 0, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		var cursor *domain.Cursor
		for {
			page, more, err := e.store.List(ctx, job.TenantID, pageSize, cursor)
			if err != nil {
				return fmt.Errorf("read billing: %w", err)
			}
			for _, it := range page {
				if err := enc.Encode(it); err != nil {
					return err
				}
			}
			items += len(page)
			if !more {
				return nil
			}
			last := page[len(page)-1]
			cursor = &domain.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
	})
	if err != nil {
		return nil, err
	}
	return Result{File: files.Path(f.ID), FileID: f.ID, Items: items}, nil
}
