package projects_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWritesNeedJSONContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, item := e.create(t, "Widget")
	for _, tc := range []struct{ method, path, contentType string }{
		{"POST", base, "text/plain"},
		{"POST", base, ""},
		{"PATCH", item, "application/x-www-form-urlencoded"},
		{"POST", item + "/notes", "multipart/form-data; boundary=x"},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tc.method, e.server.URL+tc.path, strings.NewReader(`{"name":"n","body":"b"}`))
		if err != nil {
			t.Fatal(err)
		}
		e.as(req, "tenant-a")
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var apiErr apiError
		err = json.NewDecoder(resp.Body).Decode(&apiErr)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || err != nil || apiErr.Error.Code != "unsupported_media_type" {
			t.Errorf("%s %s with Content-Type %q: status %d, %+v; want 415 unsupported_media_type", tc.method, tc.path, tc.contentType, resp.StatusCode, apiErr)
		}
	}
}

// TestDatabaseDownIs503: while the database cannot be reached, every route
// answers 503 JSON with Retry-After, not 500. The module's pool points at a
// closed port; the tenant still resolves through the real database.
func TestDatabaseDownIs503(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	down := e.db.Pool(t, "postgres://nobody@127.0.0.1:1/nothing?sslmode=disable", nil)
	h := e.handler(t, down, slog.New(slog.DiscardHandler))
	item := base + "/" + fuzzItemID
	for _, r := range []struct{ method, path, body string }{
		{"GET", base, ""},
		{"POST", base, `{"name":"n"}`},
		{"GET", item, ""},
		{"PATCH", item, `{"name":"n"}`},
		{"DELETE", item, ""},
		{"POST", item + "/notes", `{"body":"b"}`},
		{"GET", item + "/notes", ""},
	} {
		req := httptest.NewRequestWithContext(t.Context(), r.method, r.path, strings.NewReader(r.body))
		e.as(req, "tenant-a")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var apiErr apiError
		if err := json.Unmarshal(rec.Body.Bytes(), &apiErr); err != nil || rec.Code != http.StatusServiceUnavailable || apiErr.Error.Code != "unavailable" {
			t.Errorf("%s %s with the database down: status %d %s; want 503 unavailable", r.method, r.path, rec.Code, rec.Body)
		}
		if rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", r.method, r.path)
		}
	}
}

// TestAbandonedRequestIsNotAServerError: a client that gives up while its
// request waits on the database is not logged as a server error.
func TestAbandonedRequestIsNotAServerError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	lock, err := e.db.OwnerPool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.Background())
	if _, err := lock.Exec(ctx, `LOCK TABLE projects IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	reqCtx, abandon := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(reqCtx, "GET", e.server.URL+base, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.as(req, "tenant-a")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the request to wait for the lock", func() bool {
		var waiting int
		err := e.db.OwnerPool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting > 0
	})
	abandon()
	if err := <-done; err == nil {
		t.Fatal("the abandoned request got an answer")
	}
	waitFor(t, "the request's log line", func() bool { return strings.Contains(e.logText(t), `"msg":"request"`) })
	logs := e.logText(t)
	if strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("an abandoned request was logged as an error:\n%s", logs)
	}
	if !strings.Contains(logs, `"status":499`) {
		t.Errorf("the request line does not record status 499:\n%s", logs)
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
