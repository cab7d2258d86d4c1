package invoices_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/acme/acme/internal/modules/invoices"
	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/database/dbtest"
	"github.com/acme/acme/internal/platform/database/querycount"
	"github.com/acme/acme/internal/platform/database/querycount/querycounttest"
	"github.com/acme/acme/internal/platform/logging"
	"github.com/acme/acme/internal/platform/module"
	"github.com/acme/acme/internal/platform/tenancy"
)

type env struct {
	db     *dbtest.DB
	pool   *pgxpool.Pool // application role, round trips counted
	server *httptest.Server
	logs   string    // the file of the server's JSON log, debug level and up
	a, b   uuid.UUID // tenant ids; slugs "tenant-a" and "tenant-b"
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := dbtest.New(t, invoices.Module().Migrations)
	e := &env{db: db, logs: filepath.Join(t.TempDir(), "server.log")}
	e.pool = db.Pool(t, db.AppURL, func(c *pgxpool.Config) { c.ConnConfig.Tracer = querycount.Tracer{} })
	for _, tt := range []struct {
		slug string
		id   *uuid.UUID
	}{{"tenant-a", &e.a}, {"tenant-b", &e.b}} {
		err := db.OwnerPool.QueryRow(t.Context(), `INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, tt.slug).Scan(tt.id)
		if err != nil {
			t.Fatal(err)
		}
	}
	// An *os.File is safe for the concurrent writes of the server.
	logFile, err := os.Create(e.logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	logger := logging.New(logFile, slog.LevelDebug)
	e.server = httptest.NewServer(logging.Middleware(logger)(e.handler(t, e.pool, logger)))
	t.Cleanup(e.server.Close)
	return e
}

// logText returns what the server has logged so far.
func (e *env) logText(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(e.logs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// handler serves the module on pool behind the tenancy middleware, which
// reads the tenant of the X-Tenant-ID header through the app role.
func (e *env) handler(t testing.TB, pool *pgxpool.Pool, logger *slog.Logger) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	if err := invoices.Module().Register(mux, module.Deps{Pool: pool, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Tenancy{Resolution: config.TenantFromHeader, Header: "X-Tenant-ID"}
	return tenancy.Middleware(cfg, tenancy.NewResolver(e.db.AppPool, 0), logger)(mux)
}

// do sends a request as tenant (a slug, or "" for none) and decodes the JSON
// response into out when out is not nil.
func (e *env) do(t *testing.T, tenant, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNoContent && resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, resp.Header.Get("Content-Type"))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

const base = "/api/v1/invoices"

// create makes a invoice called name in tenant A and returns it and its path.
func (e *env) create(t *testing.T, name string) (invoices.Invoice, string) {
	t.Helper()
	var it invoices.Invoice
	if code := e.do(t, "tenant-a", "POST", base, `{"name":`+strconv.Quote(name)+`}`, &it); code != http.StatusCreated {
		t.Fatalf("create %s: status %d", name, code)
	}
	return it, base + "/" + it.ID.String()
}

type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var created invoices.Invoice
	if code := e.do(t, "tenant-a", "POST", base, `{"name":"Widget","description":"blue"}`, &created); code != http.StatusCreated {
		t.Fatalf("create: status %d", code)
	}
	if created.ID == uuid.Nil || created.Name != "Widget" || created.Description != "blue" || created.Notes == nil || len(created.Notes) != 0 {
		t.Fatalf("create: got %+v", created)
	}
	item := base + "/" + created.ID.String()

	var note invoices.InvoiceNote
	if code := e.do(t, "tenant-a", "POST", item+"/notes", `{"body":"fragile"}`, &note); code != http.StatusCreated || note.Body != "fragile" {
		t.Fatalf("add note: status %d, %+v", code, note)
	}

	var got invoices.Invoice
	if code := e.do(t, "tenant-a", "GET", item, "", &got); code != http.StatusOK || got.Name != "Widget" || len(got.Notes) != 1 || got.Notes[0].ID != note.ID || got.NotesCount != 1 || got.NotesURL != item+"/notes" {
		t.Fatalf("get: status %d, %+v", code, got)
	}

	var updated invoices.Invoice
	if code := e.do(t, "tenant-a", "PATCH", item, `{"name":"Gadget"}`, &updated); code != http.StatusOK {
		t.Fatalf("update: status %d", code)
	}
	if updated.Name != "Gadget" || updated.Description != "blue" || len(updated.Notes) != 1 || !updated.UpdatedAt.After(created.UpdatedAt) {
		t.Fatalf("update: got %+v", updated)
	}

	var page invoices.Page
	if code := e.do(t, "tenant-a", "GET", base, "", &page); code != http.StatusOK || len(page.Items) != 1 || page.Items[0].Name != "Gadget" || page.NextCursor != "" {
		t.Fatalf("list: status %d, %+v", code, page)
	}

	if code := e.do(t, "tenant-a", "DELETE", item, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: status %d", code)
	}
	var apiErr apiError
	if code := e.do(t, "tenant-a", "GET", item, "", &apiErr); code != http.StatusNotFound || apiErr.Error.Code != "not_found" {
		t.Fatalf("get after delete: status %d, %+v", code, apiErr)
	}
	var notes int
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM invoice_notes`).Scan(&notes); err != nil || notes != 0 {
		t.Errorf("%d notes left after delete (%v), want 0", notes, err)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, item := e.create(t, "Widget")
	long := strings.Repeat("x", 201)
	for _, tc := range []struct {
		name, method, path, body, code, field string
	}{
		{"missing name", "POST", base, `{"description":"d"}`, "invalid_input", "name"},
		{"blank name", "POST", base, `{"name":"   "}`, "invalid_input", "name"},
		{"long name", "POST", base, `{"name":"` + long + `"}`, "invalid_input", "name"},
		{"long description", "POST", base, `{"name":"n","description":"` + strings.Repeat("d", 2001) + `"}`, "invalid_input", "description"},
		{"unknown field", "POST", base, `{"name":"n","colour":"red"}`, "invalid_json", ""},
		{"not JSON", "POST", base, `name=n`, "invalid_json", ""},
		{"two objects", "POST", base, `{"name":"n"}{"name":"m"}`, "invalid_json", ""},
		{"empty patch", "PATCH", item, `{}`, "invalid_input", "name"},
		{"blank patch name", "PATCH", item, `{"name":""}`, "invalid_input", "name"},
		{"blank note", "POST", item + "/notes", `{"body":""}`, "invalid_input", "body"},
		{"limit too large", "GET", base + "?limit=101", "", "invalid_input", "limit"},
		{"limit not a number", "GET", base + "?limit=ten", "", "invalid_input", "limit"},
		{"forged cursor", "GET", base + "?after=bm90LWEtY3Vyc29y", "", "invalid_input", "after"},
		{"NUL in name", "POST", base, `{"name":"a\u0000b"}`, "invalid_input", "name"},
		{"NUL in patch", "PATCH", item, `{"description":"\u0000"}`, "invalid_input", "description"},
		{"NUL in note", "POST", item + "/notes", `{"body":"\u0000"}`, "invalid_input", "body"},
		{"cursor before year 1", "GET", base + "?after=" + cursorAt(-1e18), "", "invalid_input", "after"},
		{"cursor after year 9999", "GET", base + "?after=" + cursorAt(1e18), "", "invalid_input", "after"},
		{"notes limit too large", "GET", item + "/notes?limit=101", "", "invalid_input", "limit"},
		{"notes cursor out of range", "GET", item + "/notes?after=" + cursorAt(-1e18), "", "invalid_input", "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var apiErr apiError
			code := e.do(t, "tenant-a", tc.method, tc.path, tc.body, &apiErr)
			if code != http.StatusBadRequest || apiErr.Error.Code != tc.code || apiErr.Error.Message == "" {
				t.Fatalf("status %d, %+v; want 400 %s", code, apiErr, tc.code)
			}
			if tc.field != "" && apiErr.Error.Fields[tc.field] == "" {
				t.Errorf("fields %v do not explain %q", apiErr.Error.Fields, tc.field)
			}
		})
	}
}

func TestBodyIsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var apiErr apiError
	body := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	if code := e.do(t, "tenant-a", "POST", base, body, &apiErr); code != http.StatusRequestEntityTooLarge || apiErr.Error.Code != "body_too_large" {
		t.Fatalf("1 MiB body: status %d, %+v; want 413 body_too_large", code, apiErr)
	}
}

func TestTenantIsRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var apiErr apiError
	if code := e.do(t, "", "GET", base, "", &apiErr); code != http.StatusBadRequest || apiErr.Error.Code != "tenant_required" {
		t.Errorf("no tenant: status %d, %+v; want 400 tenant_required", code, apiErr)
	}
	if code := e.do(t, "tenant-zzz", "GET", base, "", &apiErr); code != http.StatusNotFound || apiErr.Error.Code != "tenant_not_found" {
		t.Errorf("unknown tenant: status %d, %+v; want 404 tenant_not_found", code, apiErr)
	}
}

func TestTenantsCannotReachEachOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, item := e.create(t, "A's item")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", item, ""},
		{"PATCH", item, `{"name":"stolen"}`},
		{"DELETE", item, ""},
		{"POST", item + "/notes", `{"body":"graffiti"}`},
	} {
		var apiErr apiError
		if code := e.do(t, "tenant-b", tc.method, tc.path, tc.body, &apiErr); code != http.StatusNotFound || apiErr.Error.Code != "not_found" {
			t.Errorf("tenant B %s %s: status %d, %+v; want 404 not_found", tc.method, tc.path, code, apiErr)
		}
	}
	var page invoices.Page
	if code := e.do(t, "tenant-b", "GET", base, "", &page); code != http.StatusOK || len(page.Items) != 0 {
		t.Errorf("tenant B's list: status %d, %d items; want 200 and none", code, len(page.Items))
	}
	var got invoices.Invoice
	if code := e.do(t, "tenant-a", "GET", item, "", &got); code != http.StatusOK || got.Name != "A's item" || len(got.Notes) != 0 {
		t.Errorf("A's item after B's attempts: status %d, %+v", code, got)
	}
}

// seed inserts n invoices with two notes each for tenant as the owner.
func seed(t *testing.T, e *env, tenant uuid.UUID, n int) {
	t.Helper()
	_, err := e.db.OwnerPool.Exec(t.Context(), `
		WITH items AS (
		    INSERT INTO invoices (tenant_id, name, created_at)
		    SELECT $1, 'item ' || g, now() - g * interval '1 second' FROM generate_series(1, $2) g
		    RETURNING id
		)
		INSERT INTO invoice_notes (tenant_id, invoice_id, body)
		SELECT $1, id, 'note ' || k FROM items, generate_series(1, 2) k`, tenant, n)
	if err != nil {
		t.Fatal(err)
	}
}

// TestListCostsOneQueryPerPage walks 1,000 invoices with their notes and
// checks that every page, whatever its size, costs one round trip.
func TestListCostsOneQueryPerPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seed(t, e, e.a, 1000)
	seed(t, e, e.b, 10)
	svc := invoices.NewService(e.pool)

	seen := map[uuid.UUID]bool{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages of 100 for 1,000 items")
		}
		var page invoices.Page
		n := querycounttest.AssertMax(t, 1, func(ctx context.Context) {
			var err error
			page, err = svc.List(ctx, e.a, invoices.ListParams{Limit: 100, After: after})
			if err != nil {
				t.Fatal(err)
			}
		})
		if n != 1 {
			t.Fatalf("page %d made %d round trips, want exactly 1 (is the tracer counting?)", pages, n)
		}
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("item %s listed twice", it.ID)
			}
			seen[it.ID] = true
			if len(it.Notes) != 2 {
				t.Fatalf("item %s has %d notes, want 2", it.ID, len(it.Notes))
			}
		}
		if page.NextCursor == "" {
			break
		}
		after = page.NextCursor
	}
	if len(seen) != 1000 {
		t.Errorf("listed %d items, want 1000", len(seen))
	}
	// A small page costs the same.
	querycounttest.AssertMax(t, 1, func(ctx context.Context) {
		if _, err := svc.List(ctx, e.a, invoices.ListParams{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestListPagesInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seed(t, e, e.a, 45)
	var names []string
	path := base + "?limit=20"
	for range 3 {
		var page invoices.Page
		if code := e.do(t, "tenant-a", "GET", path, "", &page); code != http.StatusOK {
			t.Fatalf("list: status %d", code)
		}
		for _, it := range page.Items {
			names = append(names, it.Name)
		}
		path = base + "?limit=20&after=" + page.NextCursor
		if page.NextCursor == "" {
			break
		}
	}
	if len(names) != 45 {
		t.Fatalf("listed %d items over the pages, want 45", len(names))
	}
	for i, name := range names {
		if want := "item " + strconv.Itoa(i+1); name != want {
			t.Fatalf("item %d is %q, want %q (newest first)", i, name, want)
		}
	}
}
