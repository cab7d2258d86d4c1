package files_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"example.com/minimal/internal/platform/auth"
	"example.com/minimal/internal/platform/blob"
	"example.com/minimal/internal/platform/database/dbtest"
	"example.com/minimal/internal/platform/files"
	"example.com/minimal/internal/platform/jobs/jobstest"
)

// limit is UPLOAD_MAX_BYTES in these tests.
const limit = 1024

type env struct {
	db     *dbtest.DB
	bg     *jobstest.Env
	server *jobstest.Server
	a, b   uuid.UUID
}

// newEnv serves the files routes (and the download route of file://
// storage) with workers running, on storage given by extra settings.
func newEnv(t *testing.T, extra ...string) *env {
	t.Helper()
	db := dbtest.New(t)
	e := &env{db: db}
	for _, tt := range []struct {
		slug string
		id   *uuid.UUID
	}{{"tenant-a", &e.a}, {"tenant-b", &e.b}} {
		if err := db.OwnerPool.QueryRow(t.Context(), `INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, tt.slug).Scan(tt.id); err != nil {
			t.Fatal(err)
		}
	}
	srv := jobstest.NewServer(t)
	settings := append([]string{jobstest.PublicURL(srv), fmt.Sprint("UPLOAD_MAX_BYTES=", limit)}, extra...)
	e.bg = jobstest.New(t, db, db.AppPool, settings...)
	api := http.NewServeMux()
	e.bg.Files.Register(api)
	e.bg.Start(t)
	e.server = e.bg.Serve(t, srv, db, api)
	return e
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// send sends body (nil for none; an io.Reader without a known length is
// sent chunked) as tenant with role.
func (e *env) send(t *testing.T, tenant, role, method, path, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.server.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	e.server.As(t, req, tenant, auth.Role(role))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, data}
}

func (r response) file(t *testing.T) files.File {
	t.Helper()
	var f files.File
	if err := json.Unmarshal(r.body, &f); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return f
}

func (r response) code4(t *testing.T, want int, code string) {
	t.Helper()
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	if r.code != want || body.Error.Code != code {
		t.Errorf("status %d %s, want %d %s", r.code, r.body, want, code)
	}
}

// chunked hides a reader's length, so the request carries no
// Content-Length and only the streaming limit can stop it.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// objects lists the keys under tenant's prefix.
func (e *env) objects(t *testing.T, tenant uuid.UUID) []string {
	t.Helper()
	var keys []string
	it := e.bg.Blob.Bucket.List(nil)
	for {
		obj, err := it.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(obj.Key, blob.TenantPrefix(tenant)) {
			keys = append(keys, obj.Key)
		} else {
			t.Errorf("object %s is outside every tenant's prefix", obj.Key)
		}
	}
}

func (e *env) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM files`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// exercise runs the behaviour every storage must have.
func exercise(t *testing.T, e *env) {
	ctx := t.Context()
	content := []byte("hello, object storage\n")

	// Upload: streamed, named safely, checksummed, under the tenant's prefix.
	r := e.send(t, "tenant-a", "member", "POST", "/api/v1/files?name=../../etc/greeting.txt", "text/plain; charset=utf-8", bytes.NewReader(content))
	if r.code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	f := r.file(t)
	sum := sha256.Sum256(content)
	if f.Name != "greeting.txt" || f.Size != int64(len(content)) || f.SHA256 != hex.EncodeToString(sum[:]) || f.ContentType != "text/plain" || r.header.Get("Location") != files.Path(f.ID) {
		t.Errorf("uploaded file %+v (Location %q)", f, r.header.Get("Location"))
	}
	var key string
	if err := e.db.OwnerPool.QueryRow(ctx, `SELECT key FROM files WHERE id = $1 AND tenant_id = $2`, f.ID, e.a).Scan(&key); err != nil || !strings.HasPrefix(key, blob.TenantPrefix(e.a)) {
		t.Fatalf("row of the upload: key %q (%v)", key, err)
	}

	// Download through the signed link, with no tenant header: the link is
	// the authorization.
	r = e.send(t, "tenant-a", "member", "GET", files.Path(f.ID), "", nil)
	got := r.file(t)
	if r.code != 200 || got.DownloadURL == "" || got.DownloadExpiresAt == nil || got.DownloadExpiresAt.Before(time.Now()) {
		t.Fatalf("GET file: %d %s", r.code, r.body)
	}
	res, err := http.Get(got.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	downloaded, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(downloaded, content) {
		t.Errorf("download: %d %q, want the uploaded bytes", res.StatusCode, downloaded)
	}

	// Over the limit, declared or streamed: 413 and nothing stored.
	rowsBefore, objectsBefore := e.rows(t), len(e.objects(t, e.a))
	big := bytes.Repeat([]byte("x"), limit+1)
	e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "text/plain", bytes.NewReader(big)).code4(t, http.StatusRequestEntityTooLarge, "file_too_large")
	e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "text/plain", chunked{bytes.NewReader(big)}).code4(t, http.StatusRequestEntityTooLarge, "file_too_large")
	huge := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("y"), 600)), bytes.NewReader(bytes.Repeat([]byte("z"), 3*limit)))
	e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "text/plain", chunked{huge}).code4(t, http.StatusRequestEntityTooLarge, "file_too_large")
	exact := e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "text/plain", chunked{bytes.NewReader(big[:limit])})
	if exact.code != http.StatusCreated {
		t.Errorf("upload of exactly UPLOAD_MAX_BYTES: %d %s", exact.code, exact.body)
	}
	if rows, objects := e.rows(t), len(e.objects(t, e.a)); rows != rowsBefore+1 || objects != objectsBefore+1 {
		t.Errorf("after three refused uploads and one accepted: %d rows, %d objects; want %d and %d", rows, objects, rowsBefore+1, objectsBefore+1)
	}

	// Content types: declared, allowed, and agreeing with the bytes.
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 32)...)
	e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "application/x-msdownload", bytes.NewReader(png)).code4(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "", bytes.NewReader(content)).code4(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "image/png", bytes.NewReader(content)).code4(t, http.StatusUnsupportedMediaType, "content_type_mismatch")
	if r := e.send(t, "tenant-a", "member", "POST", "/api/v1/files?name=pixel.png", "image/png", bytes.NewReader(png)); r.code != http.StatusCreated {
		t.Errorf("a real PNG: %d %s", r.code, r.body)
	}

	// Another tenant reaches nothing; a member cannot delete.
	e.send(t, "tenant-b", "owner", "GET", files.Path(f.ID), "", nil).code4(t, http.StatusNotFound, "not_found")
	e.send(t, "tenant-b", "owner", "DELETE", files.Path(f.ID), "", nil).code4(t, http.StatusNotFound, "not_found")
	e.send(t, "tenant-a", "member", "DELETE", files.Path(f.ID), "", nil).code4(t, http.StatusForbidden, "forbidden")
	e.send(t, "tenant-a", "", "GET", files.Path(f.ID), "", nil).code4(t, http.StatusUnauthorized, "unauthenticated")

	// Delete: the row at once, the object by the files.delete job.
	if r := e.send(t, "tenant-a", "admin", "DELETE", files.Path(f.ID), "", nil); r.code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	e.send(t, "tenant-a", "member", "GET", files.Path(f.ID), "", nil).code4(t, http.StatusNotFound, "not_found")
	deadline := time.Now().Add(30 * time.Second)
	for {
		exists, err := e.bg.Blob.Bucket.Exists(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !exists {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deleted file's object is still stored after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFilesOnFileSystem runs the suite on file:// storage in a directory,
// and checks that refused uploads leave no temporary file behind.
func TestFilesOnFileSystem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exercise(t, e)
	err := filepath.WalkDir(e.bg.BlobDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".tmp") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFilesOnS3 runs the suite on s3:// storage served by an S3 server in
// the test (gofakes3): presigned links, streamed uploads and aborts.
func TestFilesOnS3(t *testing.T) {
	// Not parallel: the S3 client reads its credentials from the
	// environment, which t.Setenv changes for the whole process.
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	backend := s3mem.New()
	if err := backend.CreateBucket("files"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3.Close)
	e := newEnv(t, "BLOB_URL=s3://files?region=us-east-1&use_path_style=true&endpoint="+s3.URL)
	if e.bg.BlobDir != "" {
		t.Fatal("the S3 test runs on a directory")
	}
	exercise(t, e)
}

// TestSweepDeletesOldOrphans leaves objects as a crash between writing an
// object and its row would, and checks that files.sweep deletes those older
// than OrphanAge, and only those.
func TestSweepDeletesOldOrphans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	r := e.send(t, "tenant-a", "member", "POST", "/api/v1/files", "text/plain", strings.NewReader("kept"))
	if r.code != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	kept := r.file(t)
	prefix := blob.TenantPrefix(e.a) + "files/"
	oldOrphan, newOrphan := prefix+uuid.NewString(), prefix+uuid.NewString()
	for _, k := range []string{oldOrphan, newOrphan} {
		if err := e.bg.Blob.Bucket.WriteAll(ctx, k, []byte("orphan"), nil); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-files.OrphanAge - time.Hour)
	for _, k := range []string{oldOrphan, prefix + kept.ID.String()} {
		if err := os.Chtimes(filepath.Join(e.bg.BlobDir, filepath.FromSlash(k)), old, old); err != nil {
			t.Fatal(err)
		}
	}
	id, err := e.bg.Files.EnqueueSweep(ctx, e.a)
	if err != nil {
		t.Fatal(err)
	}
	st := e.bg.Wait(t, e.a, id, 30*time.Second)
	var res files.SweepResult
	if err := json.Unmarshal(st.Result, &res); err != nil || st.State != "completed" || res.Deleted != 1 || res.Checked != 3 {
		t.Fatalf("sweep: %+v (%v), want 3 checked, 1 deleted", st, err)
	}
	for k, want := range map[string]bool{oldOrphan: false, newOrphan: true, prefix + kept.ID.String(): true} {
		if got, err := e.bg.Blob.Bucket.Exists(context.Background(), k); err != nil || got != want {
			t.Errorf("after the sweep, %s exists = %v (%v), want %v", k, got, err, want)
		}
	}
}

// TestPutEnforcesItsLimit writes past Put's limit: ErrTooLarge, and neither
// an object nor a row is left.
func TestPutEnforcesItsLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.bg.Files.Put(t.Context(), e.a, files.Object{Name: "big.txt", ContentType: "text/plain"}, 10, func(w io.Writer) error {
		for range 3 {
			if _, err := w.Write([]byte("1234")); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, files.ErrTooLarge) {
		t.Fatalf("Put of 12 bytes with a limit of 10: %v, want ErrTooLarge", err)
	}
	if rows, objects := e.rows(t), e.objects(t, e.a); rows != 0 || len(objects) != 0 {
		t.Errorf("after a refused Put: %d rows, objects %v; want none", rows, objects)
	}
}

// TestSweepsAreScheduledDailyPerTenant: every tenant gets a files.sweep,
// and not a second one within SweepInterval.
func TestSweepsAreScheduledDailyPerTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	if n, err := e.bg.Files.EnqueueDueSweeps(ctx); err != nil || n != 2 {
		t.Fatalf("first round: %d sweeps (%v), want one per tenant (2)", n, err)
	}
	if n, err := e.bg.Files.EnqueueDueSweeps(ctx); err != nil || n != 0 {
		t.Fatalf("second round: %d sweeps (%v), want none within SweepInterval", n, err)
	}
	var n int
	if err := e.db.OwnerPool.QueryRow(ctx, `SELECT count(DISTINCT tenant_id) FROM jobs WHERE kind = $1`, files.KindSweep).Scan(&n); err != nil || n != 2 {
		t.Errorf("sweep jobs cover %d tenants (%v), want 2", n, err)
	}
}
