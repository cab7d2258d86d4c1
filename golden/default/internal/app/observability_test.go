package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"shop/internal/platform/auth"
	"shop/internal/platform/telemetry"
	"shop/internal/platform/telemetry/telemetrytest"
	"shop/internal/platform/tenancy"
)

// contractSeries are the series the dashboard, the alert rules and the
// deployment files may use (deploy/, checked by saasgen's checks), with
// exactly the labels each carries.
var contractSeries = map[string][]string{
	"http_requests_total":                {"method", "route", "status_class"},
	"http_request_duration_seconds":      {"method", "route"},
	"http_requests_in_flight":            nil,
	"db_pool_acquired_connections":       nil,
	"db_pool_idle_connections":           nil,
	"db_pool_total_connections":          nil,
	"db_pool_max_connections":            nil,
	"db_pool_acquire_wait_seconds_total": nil,
	"db_pool_empty_acquires_total":       nil,
	"db_queries_per_request":             nil,
	"db_query_budget_exceeded_total":     {"route"},
	"jobs_queue_depth":                   {"queue"},
	"jobs_finished_total":                {"kind", "outcome"},
	"jobs_duration_seconds":              {"kind"},
	"jobs_wait_seconds":                  {"kind"},
	"ratelimit_rejections_total":         {"class"},
	"ratelimit_errors_total":             {"class"},
	"session_store_errors_total":         {"op"},
}

// TestObservability serves the whole application with tracing on (a real
// OTLP/HTTP receiver in the test process) and follows one tenant's file
// deletion: one JSON request line with every id, a request span named by
// its route with the tenant, the delete job's span in the same trace, and
// the metrics of the contract with their labels and no raw path.
func TestObservability(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	rc.Setenv(t)
	tel, err := telemetry.Start(t.Context(), telemetry.Options{Service: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	// A budget of 1 makes every request with a transaction go over it; a
	// queue of its own keeps other tests' workers off this test's jobs.
	e := newIDEnvWith(t, tel, installedModules(), "QUERY_BUDGET=1", "JOBS_QUEUE=obs_"+strings.ToLower(rand.Text()))
	ctx, stop := context.WithCancel(t.Context())
	worked := make(chan error, 1)
	go func() { worked <- e.app.Work(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-worked; err != nil {
			t.Errorf("workers: %v", err)
		}
	})

	// A signed-in owner of tenant "obs".
	tenant := e.tenant(t, "obs")
	var user uuid.UUID
	if err := e.db.OwnerPool.QueryRow(t.Context(),
		`INSERT INTO users (issuer, subject, email, name) VALUES ('https://issuer.test', 'obs', 'obs@example.com', 'Obs') RETURNING id`).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if _, err := tenancy.Exec(t.Context(), e.db.OwnerPool, tenant,
		`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)`, tenant, user, auth.RoleOwner); err != nil {
		t.Fatal(err)
	}
	token, err := e.app.Auth.Sessions().Issue(context.WithoutCancel(t.Context()), user)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, token)
	as := func(requestID, contentType string) func(*http.Request) {
		return func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: e.app.Config.Session.CookieName, Value: token})
			r.Header.Set("X-Tenant-ID", "obs")
			r.Header.Set("X-Request-ID", requestID)
			if contentType != "" {
				r.Header.Set("Content-Type", contentType)
			}
		}
	}

	var file struct{ ID uuid.UUID }
	if res := e.call(t, nil, as("obs-upload", "text/plain"), "POST", "/api/v1/files?name=note.txt", "a note", &file); res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d", res.StatusCode)
	}
	if res := e.call(t, nil, as("obs-delete", ""), "DELETE", "/api/v1/files/"+file.ID.String(), "", nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	e.call(t, nil, as("obs-brew", ""), "BREW", "/api/v1/files/"+file.ID.String(), "", nil)
	e.call(t, nil, func(r *http.Request) { r.Header.Set("X-Request-ID", "obs-probe") }, "GET", "/readyz", "", nil)

	// One JSON request line per request, with every id.
	line := oneRequestLine(t, e.logs.String(), "obs-delete")
	for k, want := range map[string]any{
		"tenant_id": tenant.String(), "user_id": user.String(), "method": "DELETE",
		"route": "DELETE /api/v1/files/{id}", "status": float64(http.StatusNoContent),
	} {
		if line[k] != want {
			t.Errorf("request line %s = %v, want %v", k, line[k], want)
		}
	}
	for _, k := range []string{"trace_id", "span_id", "duration_ms"} {
		if line[k] == nil || line[k] == "" {
			t.Errorf("request line lacks %s: %v", k, line)
		}
	}
	if _, ok := line["path"]; ok {
		t.Errorf("the raw path is logged: %v", line)
	}
	if probe := oneRequestLine(t, e.logs.String(), "obs-probe"); probe["level"] != "DEBUG" || probe["route"] != "GET /readyz" {
		t.Errorf("health probe request line = %v, want level DEBUG", probe)
	}

	// The request's span, named by its route, with the tenant; the delete
	// job's span continues its trace.
	req := rc.WaitSpan(t, "DELETE /api/v1/files/{id}")
	if req.TraceID != line["trace_id"] || req.SpanID != line["span_id"] {
		t.Errorf("request line trace %v/%v, span %s/%s", line["trace_id"], line["span_id"], req.TraceID, req.SpanID)
	}
	if req.Attributes["tenant.id"] != tenant.String() || req.Attributes["enduser.id"] != user.String() {
		t.Errorf("request span attributes = %v", req.Attributes)
	}
	job := rc.WaitSpan(t, "job files.delete")
	if job.TraceID != req.TraceID || job.Attributes["tenant.id"] != tenant.String() {
		t.Errorf("job span trace %s (attributes %v), want the request's trace %s", job.TraceID, job.Attributes, req.TraceID)
	}
	sql := false
	for _, s := range rc.Spans() {
		sql = sql || (s.TraceID == req.TraceID && s.ParentSpanID != "" && s.Attributes["db.system.name"] == "postgresql")
	}
	if !sql {
		t.Error("no SQL span in the request's trace")
	}

	// The metrics: the contract's series with exactly their labels.
	waitJob(t, e, "files.delete")
	families, err := e.app.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	for name, labels := range contractSeries {
		f := got[name]
		if f == nil || len(f.GetMetric()) == 0 {
			t.Errorf("series %s missing", name)
			continue
		}
		for _, m := range f.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
				if strings.Contains(l.GetValue(), file.ID.String()) {
					t.Errorf("%s has a raw path as %s: %q", name, l.GetName(), l.GetValue())
				}
			}
			if !slices.Equal(names, labels) {
				t.Errorf("%s has labels %v, want %v", name, names, labels)
			}
		}
	}
	requests := map[[3]string]bool{}
	methods := map[string]bool{}
	for _, m := range got["http_requests_total"].GetMetric() {
		var l [3]string
		for i, p := range m.GetLabel() {
			l[i] = p.GetValue()
		}
		requests[l] = true
		methods[l[0]] = true
	}
	for _, want := range [][3]string{
		{"DELETE", "DELETE /api/v1/files/{id}", "2xx"},
		{"POST", "POST /api/v1/files", "2xx"},
		{"GET", "GET /readyz", "2xx"},
	} {
		if !requests[want] {
			t.Errorf("no http_requests_total%v among %v", want, requests)
		}
	}
	if methods["BREW"] || !methods["other"] {
		t.Errorf("an unknown method is not labelled other: %v", requests)
	}
}

// oneRequestLine returns the only request line of logs for requestID.
func oneRequestLine(t *testing.T, logs, requestID string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "request" && rec["request_id"] == requestID {
			found = append(found, rec)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one request line for %s, got %d:\n%s", requestID, len(found), logs)
	}
	return found[0]
}

// waitJob waits until a job of kind has finished in e.
func waitJob(t *testing.T, e *idEnv, kind string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var done bool
		err := e.db.OwnerPool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = $1 AND state IN ('completed', 'failed'))`, kind).Scan(&done)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s job finished within 10s", kind)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
