package projects_test

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

	"shop/internal/modules/projects"
	"shop/internal/platform/auth"
	"shop/internal/platform/auth/authtest"
	"shop/internal/platform/database/dbtest"
	"shop/internal/platform/database/querycount"
	"shop/internal/platform/database/querycount/querycounttest"
	"shop/internal/platform/jobs/jobstest"
	"shop/internal/platform/logging"
	"shop/internal/platform/module"
)

// TestMain fails the run when a credential made by the tests (API key,
// session token) appears in what they logged.
func TestMain(m *testing.M) { os.Exit(authtest.Main(m)) }

type env struct {
	db     *dbtest.DB
	pool   *pgxpool.Pool // application role, round trips counted
	server *httptest.Server
	logs   string    // the file of the server's JSON log, debug level and up
	a, b   uuid.UUID // tenant ids; slugs "tenant-a" and "tenant-b"
	auth   *authtest.Env
	// Callers: admin and member API keys of each tenant, and a signed-in
	// user who is an admin of tenant A only.
	adminA, adminB, memberA, userA authtest.Caller
}

func newEnv(t testing.TB, environ ...string) *env {
	t.Helper()
	db := dbtest.New(t, projects.Module().Migrations)
	e := &env{db: db, logs: filepath.Join(t.TempDir(), "server.log")}
	e.pool = db.Pool(t, db.AppURL, func(c *pgxpool.Config) { c.ConnConfig.Tracer = querycount.Tracer{} })
	e.auth = authtest.New(t, db, environ...)
	e.a, e.b = e.auth.Tenant(t, "tenant-a"), e.auth.Tenant(t, "tenant-b")
	e.adminA = authtest.Bearer(e.auth.APIKey(t, e.a, auth.RoleAdmin))
	e.adminB = authtest.Bearer(e.auth.APIKey(t, e.b, auth.RoleAdmin))
	e.memberA = authtest.Bearer(e.auth.APIKey(t, e.a, auth.RoleMember))
	user := e.auth.User(t, "admin-of-a@example.com")
	e.auth.Member(t, e.a, user, auth.RoleAdmin)
	e.userA = authtest.Cookie(e.auth.Session(t, user))
	// An *os.File is safe for the concurrent writes of the server.
	logFile, err := os.Create(e.logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	logger := authtest.Logger(logFile)
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

// handler serves the module on pool behind the auth middleware, which
// checks credentials and memberships through the app role.
func (e *env) handler(t testing.TB, pool *pgxpool.Pool, logger *slog.Logger) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	bg := jobstest.New(t, e.db, pool)
	if err := projects.Module().Register(mux, module.Deps{Pool: pool, Logger: logger, Jobs: bg.Queue, Files: bg.Files}); err != nil {
		t.Fatal(err)
	}
	bg.Seal(t)
	return e.auth.Handler(mux)
}

// caller returns who acts for tenant (a slug): nobody for "", tenant B's
// admin key for "tenant-b", and tenant A's admin key otherwise; the slug
// goes in the X-Tenant-ID header.
func (e *env) caller(tenant string) authtest.Caller {
	switch tenant {
	case "":
		return authtest.Anonymous
	case "tenant-b":
		return e.adminB.With(tenant)
	default:
		return e.adminA.With(tenant)
	}
}

// as authenticates req as e.caller(tenant).
func (e *env) as(req *http.Request, tenant string) { e.caller(tenant)(req) }

// do sends a request as tenant (a slug, or "" for nobody; see caller) and
// decodes the JSON response into out when out is not nil.
func (e *env) do(t *testing.T, tenant, method, path, body string, out any) int {
	t.Helper()
	return e.doAs(t, e.caller(tenant), "", method, path, body, out)
}

// doAs is do for a caller, with the request's Host set to host (when not
// empty).
func (e *env) doAs(t *testing.T, as authtest.Caller, host, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	as(req)
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

const base = "/api/v1/projects"

// create makes a project called name in tenant A and returns it and its path.
func (e *env) create(t *testing.T, name string) (projects.Project, string) {
	t.Helper()
	var it projects.Project
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
	var created projects.Project
	if code := e.do(t, "tenant-a", "POST", base, `{"name":"Widget","description":"blue"}`, &created); code != http.StatusCreated {
		t.Fatalf("create: status %d", code)
	}
	if created.ID == uuid.Nil || created.Name != "Widget" || created.Description != "blue" || created.Notes == nil || len(created.Notes) != 0 {
		t.Fatalf("create: got %+v", created)
	}
	item := base + "/" + created.ID.String()

	var note projects.ProjectNote
	if code := e.do(t, "tenant-a", "POST", item+"/notes", `{"body":"fragile"}`, &note); code != http.StatusCreated || note.Body != "fragile" {
		t.Fatalf("add note: status %d, %+v", code, note)
	}

	var got projects.Project
	if code := e.do(t, "tenant-a", "GET", item, "", &got); code != http.StatusOK || got.Name != "Widget" || len(got.Notes) != 1 || got.Notes[0].ID != note.ID || got.NotesCount != 1 || got.NotesURL != item+"/notes" {
		t.Fatalf("get: status %d, %+v", code, got)
	}

	var updated projects.Project
	if code := e.do(t, "tenant-a", "PATCH", item, `{"name":"Gadget"}`, &updated); code != http.StatusOK {
		t.Fatalf("update: status %d", code)
	}
	if updated.Name != "Gadget" || updated.Description != "blue" || len(updated.Notes) != 1 || !updated.UpdatedAt.After(created.UpdatedAt) {
		t.Fatalf("update: got %+v", updated)
	}

	var page projects.Page
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
	if err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT count(*) FROM project_notes`).Scan(&notes); err != nil || notes != 0 {
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

// routes lists every route of the module, with a body each accepts.
func routes(item string) []struct{ method, path, body string } {
	return []struct{ method, path, body string }{
		{"POST", base, `{"name":"intruder"}`},
		{"GET", base, ""},
		{"GET", item, ""},
		{"PATCH", item, `{"name":"stolen"}`},
		{"DELETE", item, ""},
		{"POST", item + "/notes", `{"body":"graffiti"}`},
		{"GET", item + "/notes", ""},
	}
}

// assertUntouched checks that tenant A's one project is as created, without
// notes, and that no other row exists in any tenant.
func (e *env) assertUntouched(t *testing.T) {
	t.Helper()
	var items, notes int
	var name string
	err := e.db.OwnerPool.QueryRow(t.Context(), `
		SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM project_notes), (SELECT min(name) FROM projects)`).Scan(&items, &notes, &name)
	if err != nil || items != 1 || notes != 0 || name != "A's item" {
		t.Errorf("after refused requests: %d items, %d notes, name %q (%v); want A's one untouched item", items, notes, name, err)
	}
}

func TestEveryRouteNeedsCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, item := e.create(t, "A's item")
	for _, rt := range routes(item) {
		for name, as := range map[string]authtest.Caller{
			"nothing":         authtest.Anonymous,
			"a tenant header": authtest.Caller(authtest.Anonymous).With("tenant-a"),
			"a malformed key": authtest.Bearer("sk_not-a-key"),
			"an unknown key":  authtest.Bearer("sk_aaaaaaaaaaaa_" + strings.Repeat("b", 52)),
			"a forged cookie": authtest.Cookie(&http.Cookie{Name: "session", Value: "forged"}),
		} {
			var apiErr apiError
			if code := e.doAs(t, as, "", rt.method, rt.path, rt.body, &apiErr); code != http.StatusUnauthorized || apiErr.Error.Code != "unauthenticated" {
				t.Errorf("%s %s with %s: status %d, %+v; want 401 unauthenticated", rt.method, rt.path, name, code, apiErr)
			}
		}
	}
	e.assertUntouched(t)
}

func TestMemberOfAnotherTenantGets404(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		environ []string
		host    string
		with    func(authtest.Caller) authtest.Caller
	}{
		{"header", nil, "", func(c authtest.Caller) authtest.Caller { return c.With("tenant-b") }},
		{"subdomain", []string{"TENANT_RESOLUTION=subdomain", "TENANT_BASE_DOMAIN=example.com"}, "tenant-b.example.com", func(c authtest.Caller) authtest.Caller { return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.environ...)
			_, item := e.create(t, "A's item")
			for _, rt := range routes(item) {
				for who, as := range map[string]authtest.Caller{
					"an admin of A (session)": tc.with(e.userA),
					"A's admin API key":       tc.with(e.adminA),
				} {
					var apiErr apiError
					if code := e.doAs(t, as, tc.host, rt.method, rt.path, rt.body, &apiErr); code != http.StatusNotFound || apiErr.Error.Code != "tenant_not_found" {
						t.Errorf("%s asking for tenant B: %s %s: status %d, %+v; want 404 tenant_not_found", who, rt.method, rt.path, code, apiErr)
					}
				}
			}
			// The same callers reach their own tenant.
			var page projects.Page
			if code := e.doAs(t, e.userA, strings.Replace(tc.host, "tenant-b", "tenant-a", 1), "GET", base, "", &page); code != http.StatusOK || len(page.Items) != 1 {
				t.Errorf("member of A listing A: status %d, %d items; want 200 and 1", code, len(page.Items))
			}
			e.assertUntouched(t)
		})
	}
}

func TestMembersReadAdminsWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, item := e.create(t, "A's item")
	var page projects.Page
	if code := e.doAs(t, e.memberA, "", "GET", base, "", &page); code != http.StatusOK || len(page.Items) != 1 {
		t.Errorf("member key listing: status %d, %d items; want 200 and 1", code, len(page.Items))
	}
	for _, rt := range routes(item) {
		if rt.method == "GET" {
			continue
		}
		var apiErr apiError
		if code := e.doAs(t, e.memberA, "", rt.method, rt.path, rt.body, &apiErr); code != http.StatusForbidden || apiErr.Error.Code != "forbidden" {
			t.Errorf("member key %s %s: status %d, %+v; want 403 forbidden", rt.method, rt.path, code, apiErr)
		}
	}
	e.assertUntouched(t)
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
	var page projects.Page
	if code := e.do(t, "tenant-b", "GET", base, "", &page); code != http.StatusOK || len(page.Items) != 0 {
		t.Errorf("tenant B's list: status %d, %d items; want 200 and none", code, len(page.Items))
	}
	var got projects.Project
	if code := e.do(t, "tenant-a", "GET", item, "", &got); code != http.StatusOK || got.Name != "A's item" || len(got.Notes) != 0 {
		t.Errorf("A's item after B's attempts: status %d, %+v", code, got)
	}
}

// seed inserts n projects with two notes each for tenant as the owner.
func seed(t *testing.T, e *env, tenant uuid.UUID, n int) {
	t.Helper()
	_, err := e.db.OwnerPool.Exec(t.Context(), `
		WITH items AS (
		    INSERT INTO projects (tenant_id, name, created_at)
		    SELECT $1, 'item ' || g, now() - g * interval '1 second' FROM generate_series(1, $2) g
		    RETURNING id
		)
		INSERT INTO project_notes (tenant_id, project_id, body)
		SELECT $1, id, 'note ' || k FROM items, generate_series(1, 2) k`, tenant, n)
	if err != nil {
		t.Fatal(err)
	}
}

// TestListCostsOneQueryPerPage walks 1,000 projects with their notes and
// checks that every page, whatever its size, costs one round trip.
func TestListCostsOneQueryPerPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seed(t, e, e.a, 1000)
	seed(t, e, e.b, 10)
	svc := projects.NewService(e.pool)

	seen := map[uuid.UUID]bool{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages of 100 for 1,000 items")
		}
		var page projects.Page
		n := querycounttest.AssertMax(t, 1, func(ctx context.Context) {
			var err error
			page, err = svc.List(ctx, e.a, projects.ListParams{Limit: 100, After: after})
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
		if _, err := svc.List(ctx, e.a, projects.ListParams{Limit: 1}); err != nil {
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
		var page projects.Page
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
