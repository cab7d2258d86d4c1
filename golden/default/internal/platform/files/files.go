// Package files keeps a tenant's files: their contents in object storage
// (package blob), their description in the tenant-owned files table (key,
// name, size, content type, SHA-256, who stored it), never the bytes.
//
// Routes (under /api/v1/, behind the tenant middleware):
//
//	POST   /api/v1/files?name=report.pdf   upload the request body (member)
//	GET    /api/v1/files/{id}              the file with a signed download_url (member)
//	DELETE /api/v1/files/{id}              delete it (admin)
//
// An upload streams: its size is capped by UPLOAD_MAX_BYTES (413, nothing
// stored), its declared Content-Type must be allowed (UPLOAD_CONTENT_TYPES)
// and agree with its first bytes (415), and its SHA-256 is computed on the
// way in. The object is written first, then its row: an object whose row
// was never written (the insert failed) is deleted at once; one left by a
// crash in between is an orphan, which the files.sweep job deletes once it
// is older than OrphanAge; workers enqueue a sweep per tenant every
// SweepInterval (ScheduleSweeps). Deleting a row enqueues files.delete for its
// object in the same transaction, so the object goes exactly when the row
// does, retried until storage answers.
//
// Jobs write files with Put: a job's file takes the job's id, so a retried
// attempt replaces the file instead of adding one.
package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"shop/internal/platform/auth"
	blobstore "shop/internal/platform/blob"
	"shop/internal/platform/config"
	"shop/internal/platform/jobs"
	"shop/internal/platform/tenancy"
)

// Job kinds of this package.
const (
	KindDelete = "files.delete"
	KindSweep  = "files.sweep"
)

// OrphanAge is how old an object without a row must be before files.sweep
// deletes it: far longer than any upload or job takes between writing an
// object and its row.
const OrphanAge = 24 * time.Hour

// File describes a stored file.
type File struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
	// DownloadURL is a signed link, valid until DownloadExpiresAt.
	DownloadURL       string     `json:"download_url,omitempty"`
	DownloadExpiresAt *time.Time `json:"download_expires_at,omitempty"`

	key string
}

// Errors of the service.
var (
	ErrNotFound = errors.New("file not found")
	// ErrTooLarge is returned when the contents exceed UPLOAD_MAX_BYTES.
	ErrTooLarge = errors.New("file too large")
)

// Service stores and serves files.
type Service struct {
	pool    *pgxpool.Pool
	store   *blobstore.Store
	queue   *jobs.Queue
	cfg     config.Upload
	allowed []string
	logger  *slog.Logger
}

// New returns the service and registers its job kinds on queue.
func New(pool *pgxpool.Pool, store *blobstore.Store, queue *jobs.Queue, cfg config.Upload, logger *slog.Logger) (*Service, error) {
	s := &Service{pool: pool, store: store, queue: queue, cfg: cfg, allowed: cfg.AllowedContentTypes(), logger: logger}
	if err := queue.Handle(KindDelete, s.deleteObject); err != nil {
		return nil, err
	}
	if err := queue.Handle(KindSweep, s.sweep); err != nil {
		return nil, err
	}
	return s, nil
}

// pathPrefix is where files are served: module.APIPrefix + "files" (package
// module imports this one, so it cannot be used here).
const pathPrefix = "/api/v1/files"

// Path is the API path of file id.
func Path(id uuid.UUID) string { return pathPrefix + "/" + id.String() }

func key(tenantID, id uuid.UUID) string {
	return blobstore.TenantPrefix(tenantID) + "files/" + id.String()
}

// Object describes contents to store with Put.
type Object struct {
	// ID is the file's id; zero draws a new one. Putting an existing id of
	// the tenant replaces that file.
	ID          uuid.UUID
	Name        string
	ContentType string
}

// Put stores the bytes write produces as a file of tenantID and returns it.
// The contents stream to storage (write may produce any amount, page by
// page) while their size and SHA-256 are computed; beyond UPLOAD_MAX_BYTES
// for uploads (limit > 0) the write is aborted with ErrTooLarge and nothing
// is stored. The principal in ctx, if any, is recorded as the file's owner.
func (s *Service) Put(ctx context.Context, tenantID uuid.UUID, obj Object, limit int64, write func(io.Writer) error) (File, error) {
	if obj.ID == uuid.Nil {
		obj.ID = uuid.New()
	}
	f := File{ID: obj.ID, Name: cleanName(obj.Name), ContentType: obj.ContentType, key: key(tenantID, obj.ID)}

	wctx, abort := context.WithCancel(ctx)
	defer abort()
	bw, err := s.store.Bucket.NewWriter(wctx, f.key, &blob.WriterOptions{ContentType: f.ContentType})
	if err != nil {
		return File{}, fmt.Errorf("files: open object: %w", err)
	}
	sum := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(bw, sum), limit: limit}
	if err := write(cw); err != nil {
		abort() // a cancelled writer stores nothing
		_ = bw.Close()
		if errors.Is(err, ErrTooLarge) || cw.over {
			return File{}, ErrTooLarge
		}
		return File{}, fmt.Errorf("files: write object: %w", err)
	}
	if err := bw.Close(); err != nil {
		return File{}, fmt.Errorf("files: store object: %w", err)
	}
	f.Size, f.SHA256 = cw.n, hex.EncodeToString(sum.Sum(nil))

	p, _ := auth.FromContext(ctx)
	var userID, apiKeyID *uuid.UUID
	if p.TenantID == tenantID {
		userID, apiKeyID = nullUUID(p.UserID), nullUUID(p.APIKeyID)
	}
	err = tenancy.Query(ctx, s.pool, tenantID, func(rows pgx.Rows) error {
		var err error
		f.CreatedAt, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[time.Time])
		return err
	}, `
		INSERT INTO files (id, tenant_id, key, name, content_type, size, sha256, user_id, api_key_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, content_type = excluded.content_type,
		    size = excluded.size, sha256 = excluded.sha256, created_at = now()
		RETURNING created_at`,
		f.ID, tenantID, f.key, f.Name, f.ContentType, f.Size, f.SHA256, userID, apiKeyID)
	if err != nil {
		// No row, so no one can reach the object: remove it now (files.sweep
		// catches it if this fails too).
		if derr := s.store.Bucket.Delete(context.WithoutCancel(ctx), f.key); derr != nil && gcerrors.Code(derr) != gcerrors.NotFound {
			s.logger.WarnContext(ctx, "object left without a row; files.sweep will remove it", "key", f.key, "error", derr)
		}
		return File{}, fmt.Errorf("files: record file: %w", err)
	}
	return f, nil
}

// Get returns file id of tenantID with a fresh signed download link.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (File, error) {
	var f File
	err := tenancy.Query(ctx, s.pool, tenantID, func(rows pgx.Rows) error {
		row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[fileRow])
		f = row.file()
		return err
	}, `SELECT id, name, content_type, size, sha256, created_at, key FROM files WHERE id = $1`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("files: read file: %w", err)
	}
	link, expires, err := s.store.SignedURL(ctx, f.key)
	if err != nil {
		return File{}, err
	}
	f.DownloadURL, f.DownloadExpiresAt = link, &expires
	return f, nil
}

type fileRow struct {
	ID          uuid.UUID
	Name        string
	ContentType string
	Size        int64
	SHA256      string
	CreatedAt   time.Time
	Key         string
}

func (r fileRow) file() File {
	return File{ID: r.ID, Name: r.Name, ContentType: r.ContentType, Size: r.Size, SHA256: r.SHA256, CreatedAt: r.CreatedAt, key: r.Key}
}

// Delete removes file id of tenantID. Its object is deleted by a
// files.delete job enqueued in the same transaction.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	return tenancy.InTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var k string
		err := tx.QueryRow(ctx, `DELETE FROM files WHERE id = $1 RETURNING key`, id).Scan(&k)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("files: delete file: %w", err)
		}
		_, err = s.queue.Enqueue(ctx, tx, tenantID, KindDelete, deleteArgs{Key: k})
		return err
	})
}

type deleteArgs struct {
	Key string `json:"key"`
}

// deleteObject is the files.delete job: it removes an object whose row was
// deleted. A missing object is already done.
func (s *Service) deleteObject(ctx context.Context, job jobs.Job) (any, error) {
	var args deleteArgs
	if err := decodeArgs(job, &args); err != nil {
		return nil, err
	}
	if !blobstore.OwnedBy(args.Key, job.TenantID) {
		return nil, jobs.Permanent(fmt.Errorf("key %q is outside the tenant's namespace", args.Key))
	}
	if err := s.store.Bucket.Delete(ctx, args.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return nil, fmt.Errorf("delete object: %w", err)
	}
	return map[string]string{"deleted": args.Key}, nil
}

// SweepResult is what files.sweep reports.
type SweepResult struct {
	Checked int `json:"checked"`
	Deleted int `json:"deleted"`
}

// sweep is the files.sweep job: it deletes the tenant's objects that have
// no row and are older than OrphanAge, a page of keys at a time.
func (s *Service) sweep(ctx context.Context, job jobs.Job) (any, error) {
	var res SweepResult
	prefix := blobstore.TenantPrefix(job.TenantID) + "files/"
	cutoff := time.Now().Add(-OrphanAge)
	token := blob.FirstPageToken
	for {
		page, next, err := s.store.Bucket.ListPage(ctx, token, 500, &blob.ListOptions{Prefix: prefix})
		if err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		ids := make([]uuid.UUID, 0, len(page))
		old := map[uuid.UUID]string{}
		for _, obj := range page {
			id, err := uuid.Parse(strings.TrimPrefix(obj.Key, prefix))
			if err != nil || obj.IsDir || obj.ModTime.After(cutoff) {
				continue
			}
			ids = append(ids, id)
			old[id] = obj.Key
		}
		res.Checked += len(page)
		if len(ids) > 0 {
			var known []uuid.UUID
			err := tenancy.Query(ctx, s.pool, job.TenantID, func(rows pgx.Rows) error {
				var err error
				known, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
				return err
			}, `SELECT id FROM files WHERE id = ANY($1)`, ids)
			if err != nil {
				return nil, fmt.Errorf("look up files: %w", err)
			}
			for _, id := range ids {
				if slices.Contains(known, id) {
					continue
				}
				if err := s.store.Bucket.Delete(ctx, old[id]); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
					return nil, fmt.Errorf("delete orphan: %w", err)
				}
				res.Deleted++
			}
		}
		if len(next) == 0 {
			return res, nil
		}
		token = next
	}
}

// SweepInterval is how often each tenant's storage is swept of orphans.
const SweepInterval = 24 * time.Hour

// ScheduleSweeps enqueues the due files.sweep jobs (EnqueueDueSweeps) now
// and every hour until ctx is cancelled. Every worker process runs it;
// they share the work through the jobs table.
func (s *Service) ScheduleSweeps(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := s.EnqueueDueSweeps(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "schedule orphan sweeps", "error", err)
		} else if n > 0 {
			s.logger.InfoContext(ctx, "orphan sweeps scheduled", "tenants", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// EnqueueDueSweeps enqueues files.sweep for every tenant whose last sweep
// was enqueued longer than SweepInterval ago (or never) and returns how
// many it enqueued. Two workers doing this at once may both enqueue one for
// a tenant; a sweep is idempotent, so that costs only the work.
func (s *Service) EnqueueDueSweeps(ctx context.Context) (int, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM tenants ORDER BY id`)
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("files: list tenants: %w", err)
	}
	enqueued := 0
	for _, tenantID := range tenants {
		err := tenancy.InTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
			var due bool
			err := tx.QueryRow(ctx, `
				SELECT NOT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND created_at > now() - $2::interval)`,
				KindSweep, SweepInterval.String()).Scan(&due)
			if err != nil || !due {
				return err
			}
			if _, err := s.queue.Enqueue(ctx, tx, tenantID, KindSweep, struct{}{}); err != nil {
				return err
			}
			enqueued++
			return nil
		})
		if err != nil {
			return enqueued, fmt.Errorf("files: schedule sweep of tenant %s: %w", tenantID, err)
		}
	}
	return enqueued, nil
}

// EnqueueSweep enqueues files.sweep for tenantID.
func (s *Service) EnqueueSweep(ctx context.Context, tenantID uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := tenancy.InTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		id, err = s.queue.Enqueue(ctx, tx, tenantID, KindSweep, struct{}{})
		return err
	})
	return id, err
}

func decodeArgs(job jobs.Job, v any) error {
	if err := json.Unmarshal(job.Args, v); err != nil {
		return jobs.Permanent(fmt.Errorf("decode %s arguments: %w", job.Kind, err))
	}
	return nil
}

// countingWriter counts what passes and refuses to pass more than limit
// bytes (no limit when limit <= 0).
type countingWriter struct {
	w     io.Writer
	n     int64
	limit int64
	over  bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.limit > 0 && c.n+int64(len(p)) > c.limit {
		c.over = true
		return 0, ErrTooLarge
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// cleanName makes a client's file name safe to store and to show: its base
// name, without control characters, at most 255 bytes; "file" if nothing is
// left.
func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == "/" {
		return "file"
	}
	return name
}

// mediaType returns the lower-case media type of a Content-Type header.
func mediaType(header string) (string, bool) {
	t, _, err := mime.ParseMediaType(header)
	return strings.ToLower(t), err == nil
}

// agrees reports whether the first bytes of a file (sniffed as by
// http.DetectContentType) fit the media type its uploader declared.
// Text formats sniff as text/plain; anything else must sniff as itself.
func agrees(declared string, head []byte) bool {
	sniffed, _ := mediaType(http.DetectContentType(head))
	if sniffed == declared {
		return true
	}
	textual := strings.HasPrefix(declared, "text/") || declared == "application/json" || strings.HasSuffix(declared, "+json")
	return textual && sniffed == "text/plain"
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
