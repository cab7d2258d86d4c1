package billing_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	gocloudblob "gocloud.dev/blob"

	"shop/internal/modules/billing"
	platformauth "shop/internal/platform/auth"
	"shop/internal/platform/database/dbtest"
	platformfiles "shop/internal/platform/files"
	platformjobs "shop/internal/platform/jobs"
	"shop/internal/platform/jobs/jobstest"
	"shop/internal/platform/module"
)

// exportEnv serves the module with the platform's job status, files and
// download routes, the way the application does (see jobstest.Serve), with
// workers running.
type exportEnv struct {
	db     *dbtest.DB
	bg     *jobstest.Env
	server *jobstest.Server
	a, b   uuid.UUID
}

func newExportEnv(t *testing.T, extra ...string) *exportEnv {
	t.Helper()
	db := dbtest.New(t, billing.Module().Migrations)
	e := &exportEnv{db: db}
	for _, tt := range []struct {
		slug string
		id   *uuid.UUID
	}{{"tenant-a", &e.a}, {"tenant-b", &e.b}} {
		if err := db.OwnerPool.QueryRow(t.Context(), `INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, tt.slug).Scan(tt.id); err != nil {
			t.Fatal(err)
		}
	}
	// Signed links start with PUBLIC_URL: the server's address is needed
	// before the storage is opened.
	srv := jobstest.NewServer(t)
	e.bg = jobstest.New(t, db, db.AppPool, append([]string{jobstest.PublicURL(srv)}, extra...)...)
	api := http.NewServeMux()
	if err := billing.Module().Register(api, module.Deps{Pool: db.AppPool, Logger: slog.New(slog.DiscardHandler), Jobs: e.bg.Queue, Files: e.bg.Files}); err != nil {
		t.Fatal(err)
	}
	e.bg.Queue.Register(api)
	e.bg.Files.Register(api)
	e.bg.Start(t)
	e.server = e.bg.Serve(t, srv, db, api)
	return e
}

// call sends a request as tenant with role ("" for no principal) and
// decodes a JSON answer into out.
func (e *exportEnv) call(t *testing.T, tenant, role, method, path string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.server.As(t, req, tenant, platformauth.Role(role))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, body, err)
		}
	}
	return res
}

func fetch(t *testing.T, link string) (int, []byte, http.Header) {
	t.Helper()
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body, res.Header
}

// TestExport runs the module's export end to end: 202 at once, the status
// reaches completed, the file downloads through its signed link, whose
// tampered forms are refused, and the other tenant reaches neither the
// status nor the file.
func TestExport(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	const n = 1234 // three pages of the export
	seedExport(t, e.db, e.a, n)
	seedExport(t, e.db, e.b, 3)

	var accepted platformjobs.Status
	start := time.Now()
	res := e.call(t, "tenant-a", "admin", "POST", "/api/v1/billing/exports", &accepted)
	if res.StatusCode != http.StatusAccepted || accepted.ID == uuid.Nil || accepted.State != "queued" {
		t.Fatalf("POST exports: %d %+v, want 202 with a queued job", res.StatusCode, accepted)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("POST exports took %s, want an answer at once", d)
	}
	location := res.Header.Get("Location")
	if location != platformjobs.StatusPath(accepted.ID) {
		t.Fatalf("Location = %q, want %q", location, platformjobs.StatusPath(accepted.ID))
	}

	var st platformjobs.Status
	deadline := time.Now().Add(60 * time.Second)
	for st.State != "completed" && st.State != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("export still %s after 60s", st.State)
		}
		time.Sleep(50 * time.Millisecond)
		if res := e.call(t, "tenant-a", "member", "GET", location, &st); res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", location, res.StatusCode)
		}
	}
	var result struct {
		File   string    `json:"file"`
		FileID uuid.UUID `json:"file_id"`
		Items  int       `json:"items"`
	}
	if err := json.Unmarshal(st.Result, &result); err != nil || st.State != "completed" {
		t.Fatalf("export ended %+v (%v)", st, err)
	}
	if result.Items != n || result.File != platformfiles.Path(result.FileID) {
		t.Fatalf("export result %+v, want %d items and a link to the file", result, n)
	}

	var f platformfiles.File
	if res := e.call(t, "tenant-a", "member", "GET", result.File, &f); res.StatusCode != 200 || f.DownloadURL == "" {
		t.Fatalf("GET %s: %d %+v", result.File, res.StatusCode, f)
	}
	code, body, header := fetch(t, f.DownloadURL)
	if code != 200 || header.Get("Content-Type") != billing.ExportContentType {
		t.Fatalf("download: %d %s", code, header.Get("Content-Type"))
	}
	sum := sha256.Sum256(body)
	if int64(len(body)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
		t.Errorf("downloaded %d bytes with SHA-256 %x; the file says %d bytes, %s", len(body), sum, f.Size, f.SHA256)
	}
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var it billing.Billing
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil || !strings.HasPrefix(it.Name, "item ") || len(it.Notes) != 1 {
			t.Fatalf("line %d: %s (%v)", lines+1, sc.Bytes(), err)
		}
		lines++
	}
	if lines != n {
		t.Errorf("the export has %d lines, want %d (tenant A's items only)", lines, n)
	}
	// The bytes are in the file system, under tenant A's prefix.
	if _, err := os.Stat(filepath.Join(e.bg.BlobDir, "tenants", e.a.String(), "files", result.FileID.String())); err != nil {
		t.Errorf("exported object not under tenant A's prefix: %v", err)
	}

	// Tampered links are refused.
	link, err := url.Parse(f.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(key, value string) string {
		u := *link
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	expiry := link.Query().Get("expiry")
	for name, bad := range map[string]string{
		"another tenant's key": tamper("obj", "tenants/"+e.b.String()+"/files/"+result.FileID.String()),
		"a later expiry":       tamper("expiry", expiry+"0"),
		"a forged signature":   tamper("signature", strings.Repeat("A", 43)),
		"another method":       tamper("method", "PUT"),
	} {
		if code, _, _ := fetch(t, bad); code != http.StatusForbidden {
			t.Errorf("link with %s: %d, want 403", name, code)
		}
	}

	// A link signed for another method (an upload link, say) does not
	// download.
	key := "tenants/" + e.a.String() + "/files/" + result.FileID.String()
	put, err := e.bg.Blob.Bucket.SignedURL(t.Context(), key, &gocloudblob.SignedURLOptions{Expiry: time.Minute, Method: http.MethodPut})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := fetch(t, put); code != http.StatusForbidden {
		t.Errorf("GET with a link signed for PUT: %d, want 403", code)
	}

	// Tenant B sees neither the job nor the file, and cannot download
	// through its own kind of link to A's key.
	if res := e.call(t, "tenant-b", "owner", "GET", location, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("tenant B GET %s: %d, want 404", location, res.StatusCode)
	}
	if res := e.call(t, "tenant-b", "owner", "GET", result.File, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("tenant B GET %s: %d, want 404", result.File, res.StatusCode)
	}
}

// TestExportLinkExpires downloads an export's file through a link, then
// through the same link after BLOB_URL_EXPIRY: refused.
func TestExportLinkExpires(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t, "BLOB_URL_EXPIRY=1s")
	seedExport(t, e.db, e.a, 2)
	var accepted platformjobs.Status
	e.call(t, "tenant-a", "admin", "POST", "/api/v1/billing/exports", &accepted)
	st := e.bg.Wait(t, e.a, accepted.ID, 60*time.Second)
	var result struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(st.Result, &result); err != nil || st.State != "completed" {
		t.Fatalf("export ended %+v (%v)", st, err)
	}
	var f platformfiles.File
	e.call(t, "tenant-a", "member", "GET", result.File, &f)
	if code, _, _ := fetch(t, f.DownloadURL); code != 200 {
		t.Fatalf("fresh link: %d, want 200", code)
	}
	time.Sleep(2100 * time.Millisecond) // expiry is in whole seconds
	if code, _, _ := fetch(t, f.DownloadURL); code != http.StatusForbidden {
		t.Errorf("expired link: %d, want 403", code)
	}
}

// TestExportNeedsAdmin: members read but do not start exports; without a
// principal nothing is allowed.
func TestExportNeedsAdmin(t *testing.T) {
	t.Parallel()
	e := newExportEnv(t)
	for role, want := range map[string]int{"": http.StatusUnauthorized, "member": http.StatusForbidden, "owner": http.StatusAccepted} {
		if res := e.call(t, "tenant-a", role, "POST", "/api/v1/billing/exports", nil); res.StatusCode != want {
			t.Errorf("POST exports with role %q: %d, want %d", role, res.StatusCode, want)
		}
	}
}

// seedExport inserts n billing with one note each for tenant, as the owner.
func seedExport(t *testing.T, db *dbtest.DB, tenant uuid.UUID, n int) {
	t.Helper()
	_, err := db.OwnerPool.Exec(t.Context(), `
		WITH items AS (
		    INSERT INTO billing (tenant_id, name)
		    SELECT $1, 'item ' || g FROM generate_series(1, $2) g
		    RETURNING id
		)
		INSERT INTO billing_notes (tenant_id, billing_id, body)
		SELECT $1, id, 'note' FROM items`, tenant, n)
	if err != nil {
		t.Fatal(err)
	}
}
