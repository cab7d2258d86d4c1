package projects_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"shop/internal/modules/projects"
	"shop/internal/platform/database/querycount/querycounttest"
)

// TestResponsesAreBounded: however many notes a project has, it carries at
// most MaxEmbeddedNotes of them (the newest) with their count and the link
// to the rest, so a page's size is bounded by its limit; the notes endpoint
// pages through all of them, newest first, one query per page.
func TestResponsesAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const noteTotal = 10
	it, item := e.create(t, "chatty")
	for i := range noteTotal {
		if code := e.do(t, "tenant-a", "POST", item+"/notes", fmt.Sprintf(`{"body":"note %d"}`, i), nil); code != http.StatusCreated {
			t.Fatalf("add note %d: status %d", i, code)
		}
	}
	want := func(i int) string { return fmt.Sprintf("note %d", noteTotal-1-i) } // newest first

	var got projects.Project
	e.do(t, "tenant-a", "GET", item, "", &got)
	var page projects.Page
	e.do(t, "tenant-a", "GET", base+"?limit=1", "", &page)
	if len(page.Items) != 1 {
		t.Fatalf("list of limit 1 has %d items", len(page.Items))
	}
	var patched projects.Project
	e.do(t, "tenant-a", "PATCH", item, `{"description":"d"}`, &patched)
	for name, x := range map[string]projects.Project{"get": got, "list": page.Items[0], "update": patched} {
		if len(x.Notes) != projects.MaxEmbeddedNotes || x.NotesCount != noteTotal || x.NotesURL != item+"/notes" {
			t.Errorf("%s: %d notes, notes_count %d, notes_url %q; want %d, %d, %s", name, len(x.Notes), x.NotesCount, x.NotesURL, projects.MaxEmbeddedNotes, noteTotal, item+"/notes")
			continue
		}
		for i, n := range x.Notes {
			if n.Body != want(i) {
				t.Errorf("%s: embedded note %d is %q, want %q (the newest first)", name, i, n.Body, want(i))
			}
		}
	}

	var bodies []string
	path := item + "/notes?limit=4"
	for n := 0; ; n++ {
		if n > 3 {
			t.Fatal("more than 3 pages of 4 for 10 notes")
		}
		var np projects.NotePage
		if code := e.do(t, "tenant-a", "GET", path, "", &np); code != http.StatusOK || len(np.Items) > 4 {
			t.Fatalf("notes page: status %d, %d items", code, len(np.Items))
		}
		for _, n := range np.Items {
			bodies = append(bodies, n.Body)
		}
		if np.NextCursor == "" {
			break
		}
		path = item + "/notes?limit=4&after=" + np.NextCursor
	}
	if len(bodies) != noteTotal {
		t.Fatalf("paged through %d notes, want %d", len(bodies), noteTotal)
	}
	for i, b := range bodies {
		if b != want(i) {
			t.Fatalf("note %d is %q, want %q (newest first)", i, b, want(i))
		}
	}

	svc := projects.NewService(e.pool)
	querycounttest.AssertMax(t, 1, func(ctx context.Context) {
		if _, err := svc.ListNotes(ctx, e.a, it.ID, projects.ListParams{Limit: 2}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNotesOfMissingOrForeignProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	it, _ := e.create(t, "quiet")
	var np projects.NotePage
	if code := e.do(t, "tenant-a", "GET", base+"/"+it.ID.String()+"/notes", "", &np); code != http.StatusOK || np.Items == nil || len(np.Items) != 0 || np.NextCursor != "" {
		t.Errorf("notes of a project without notes: status %d, %+v; want 200 and an empty list", code, np)
	}
	for _, tc := range []struct{ tenant, id string }{
		{"tenant-b", it.ID.String()},   // another tenant's
		{"tenant-a", uuid.NewString()}, // missing
		{"tenant-a", "not-a-uuid"},     // malformed
	} {
		var apiErr apiError
		if code := e.do(t, tc.tenant, "GET", base+"/"+tc.id+"/notes", "", &apiErr); code != http.StatusNotFound || apiErr.Error.Code != "not_found" {
			t.Errorf("notes of %s as %s: status %d, %+v; want 404 not_found", tc.id, tc.tenant, code, apiErr)
		}
	}
}
