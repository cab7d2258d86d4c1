// Package blob is the application's object storage: file contents live in
// a bucket (gocloud.dev/blob), never in the database.
//
// BLOB_URL chooses the bucket: file://dir for local runs (no server), or
// s3://bucket?region=…[&endpoint=…&use_path_style=true] for S3 and MinIO
// (s3.go, over minio-go), with credentials from the usual AWS_* variables
// or the platform's identity. Every key of a tenant starts with
// TenantPrefix(tenant), so a key names its tenant.
//
// Downloads go through signed URLs that expire after BLOB_URL_EXPIRY. S3
// presigns them; S3 checks the signature. For file:// the application signs
// them itself (HMAC-SHA256 with BLOB_SIGNING_KEY over the key, the expiry
// and the method) and serves them at DownloadPath, which refuses a tampered
// or expired link. The signature covers the key, and the key names the
// tenant: a link of one tenant can never open another's object.
package blob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	"shop/internal/platform/config"
	"shop/internal/platform/httpx"
)

// DownloadPath serves the signed links of file:// storage.
const DownloadPath = "/blobs/download"

// Store is the bucket with its signing of download links.
type Store struct {
	// Bucket reads and writes objects. Use keys under TenantPrefix.
	Bucket *blob.Bucket
	expiry time.Duration
	// signer verifies file:// links; nil for S3, which verifies its own.
	signer *fileblob.URLSignerHMAC
	// dir is the directory of a file:// bucket.
	dir string
	// exists asks S3 whether the bucket of an s3:// URL exists.
	exists func(context.Context) (bool, error)
	logger *slog.Logger
}

// Open opens the bucket of BLOB_URL.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Store, error) {
	s := &Store{expiry: cfg.Blob.URLExpiry, logger: logger}
	u, err := url.Parse(cfg.Blob.URL)
	if err != nil {
		return nil, fmt.Errorf("blob: BLOB_URL: %w", err)
	}
	if u.Scheme != "file" {
		loc, err := config.ParseS3URL(cfg.Blob.URL)
		if err != nil {
			return nil, fmt.Errorf("blob: BLOB_URL %w", err)
		}
		drv, err := openS3(loc)
		if err != nil {
			return nil, fmt.Errorf("blob: open S3 bucket %s: %w", loc.Bucket, err)
		}
		s.Bucket, s.exists = blob.NewBucket(drv), drv.exists
		return s, nil
	}
	key := []byte(cfg.Blob.SigningKey)
	if len(key) == 0 {
		key = []byte(rand.Text() + rand.Text())
		logger.WarnContext(ctx, "BLOB_SIGNING_KEY is not set: download links are signed with a random key and stop working when this process exits")
	}
	base, err := url.Parse(cfg.PublicURL + DownloadPath)
	if err != nil {
		return nil, fmt.Errorf("blob: PUBLIC_URL: %w", err)
	}
	s.signer = fileblob.NewURLSignerHMAC(base, key)
	// As fileblob reads the URL: host "." makes the path relative.
	s.dir = filepath.FromSlash(u.Path)
	if u.Host == "." {
		s.dir = filepath.FromSlash(strings.TrimPrefix(u.Path, "/"))
	}
	opener := &fileblob.URLOpener{Options: fileblob.Options{URLSigner: s.signer}}
	if s.Bucket, err = opener.OpenBucketURL(ctx, u); err != nil {
		return nil, fmt.Errorf("blob: open directory bucket: %w", err)
	}
	return s, nil
}

// ReadyTimeout bounds one readiness check of the bucket.
const ReadyTimeout = 2 * time.Second

// Ready reports whether the bucket exists and answers (for /readyz): the
// directory of a file:// bucket, the bucket of an S3 one.
func (s *Store) Ready(ctx context.Context) error {
	if s.dir != "" {
		fi, err := os.Stat(s.dir)
		switch {
		case err != nil:
			return fmt.Errorf("blob: the bucket's directory: %w", err)
		case !fi.IsDir():
			return fmt.Errorf("blob: the bucket's directory %s is not a directory", s.dir)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	ok, err := s.exists(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("blob: bucket: %w", err)
	case !ok:
		return errors.New("blob: the bucket does not exist")
	}
	return nil
}

// Close closes the bucket.
func (s *Store) Close() error { return s.Bucket.Close() }

// TenantPrefix is the start of every key of tenantID's objects.
func TenantPrefix(tenantID uuid.UUID) string { return "tenants/" + tenantID.String() + "/" }

// OwnedBy reports whether key belongs to tenantID's namespace.
func OwnedBy(key string, tenantID uuid.UUID) bool {
	rest, ok := strings.CutPrefix(key, TenantPrefix(tenantID))
	return ok && rest != "" && !strings.Contains(rest, "..")
}

// SignedURL returns a link that downloads key until it expires
// (BLOB_URL_EXPIRY), and when that is.
func (s *Store) SignedURL(ctx context.Context, key string) (string, time.Time, error) {
	expires := time.Now().Add(s.expiry).UTC().Truncate(time.Second)
	link, err := s.Bucket.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: s.expiry, Method: http.MethodGet})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("blob: sign link: %w", err)
	}
	return link, expires, nil
}

// Register adds DownloadPath to mux when the store signs its own links
// (file://). Mount it outside the tenant middleware: the signature is the
// authorization, so a link works in a browser.
func (s *Store) Register(mux *http.ServeMux) {
	if s.signer != nil {
		mux.HandleFunc("GET "+DownloadPath, s.download)
	}
}

func (s *Store) download(w http.ResponseWriter, r *http.Request) {
	key, err := s.signer.KeyFromURL(r.Context(), r.URL)
	if err != nil || r.URL.Query().Get("method") != http.MethodGet {
		httpx.Error(w, r, http.StatusForbidden, "invalid_signature", "this download link is invalid or has expired; ask for a new one")
		return
	}
	rd, err := s.Bucket.NewReader(r.Context(), key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		httpx.Error(w, r, http.StatusNotFound, "not_found", "the file no longer exists")
		return
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "open object for download", "error", err)
		httpx.Error(w, r, http.StatusInternalServerError, "internal", "internal server error")
		return
	}
	defer func() { _ = rd.Close() }()
	h := w.Header()
	h.Set("Content-Type", rd.ContentType())
	h.Set("Content-Length", strconv.FormatInt(rd.Size(), 10))
	h.Set("Content-Disposition", "attachment")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	if _, err := io.Copy(w, rd); err != nil && !errors.Is(err, context.Canceled) {
		s.logger.WarnContext(r.Context(), "download interrupted", "error", err)
	}
}
