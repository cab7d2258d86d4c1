package invoices_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// fuzzItemID is the invoice of tenant A that FuzzAPI keeps in place,
// so that seeds (and what the fuzzer derives from them) can address an
// existing one.
const fuzzItemID = "11111111-1111-4111-8111-111111111111"

// fuzzRoutes are the module's routes; the first argument of FuzzAPI picks
// one. Keep it in step with httpapi's Register.
var fuzzRoutes = []struct{ method, path string }{
	{"GET", base},
	{"POST", base},
	{"GET", base + "/{id}"},
	{"PATCH", base + "/{id}"},
	{"DELETE", base + "/{id}"},
	{"POST", base + "/{id}/notes"},
	{"GET", base + "/{id}/notes"},
}

// FuzzAPI sends arbitrary requests to every route of the module (path
// value, query parameters, content type and body all chosen by the fuzzer)
// as tenant A, against the real PostgreSQL, and fails on any 5xx answer:
// nothing a client sends may be a server error. The seed corpus (f.Add
// below and testdata/fuzz/FuzzAPI, which holds the inputs that once failed)
// runs with every go test; search for new failures with
//
//	go test -run '^$' -fuzz FuzzAPI ./internal/modules/invoices
//
// and keep the input it writes to testdata/fuzz/FuzzAPI once it is fixed.
func FuzzAPI(f *testing.F) {
	e := newEnv(f)
	for route := range fuzzRoutes {
		f.Add(uint8(route), fuzzItemID, "limit=2", "application/json", `{"name":"n","description":"d","body":"b"}`)
	}
	f.Add(uint8(1), "", "", "application/json", `{"name":"Widget","description":"blue"}`)
	f.Add(uint8(3), fuzzItemID, "", "application/json; charset=utf-8", `{"description":"green"}`)
	f.Add(uint8(5), fuzzItemID, "", "application/json", `{"body":"fragile"}`)
	f.Add(uint8(0), "", "limit=100&after=", "", "")
	f.Fuzz(func(t *testing.T, route uint8, id, query, contentType, body string) {
		e.keepFuzzItem(t)
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		target := e.server.URL + strings.Replace(r.path, "{id}", url.PathEscape(id), 1)
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequestWithContext(t.Context(), r.method, target, strings.NewReader(body))
		if err != nil || !validHeaderValue(contentType) {
			return // not a request an HTTP client can send
		}
		e.as(req, "tenant-a")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, target, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: reading the response: %v", r.method, target, err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s (Content-Type %q) body %q: status %d %s", r.method, target, contentType, body, resp.StatusCode, data)
		}
	})
}

// FuzzCursor sends list requests (of the collection, or of the notes of
// fuzzItemID when the time is odd) whose cursor carries an arbitrary
// position, a time in microseconds and an id: random bytes rarely make a
// well-formed cursor, so FuzzAPI alone would seldom reach past its
// decoding. Any answer but a 5xx is fine.
func FuzzCursor(f *testing.F) {
	e := newEnv(f)
	f.Add(int64(0), fuzzItemID, "20")
	f.Add(int64(1_700_000_000_000_000), fuzzItemID, "1")
	f.Add(int64(-62_135_596_800_000_000), "00000000-0000-0000-0000-000000000000", "100")
	f.Fuzz(func(t *testing.T, micros int64, id, limit string) {
		e.keepFuzzItem(t)
		cursor := cursorOf(micros, id)
		path := base
		if micros%2 != 0 {
			path += "/" + fuzzItemID + "/notes"
		}
		target := e.server.URL + path + "?" + url.Values{"after": {cursor}, "limit": {limit}}.Encode()
		req, err := http.NewRequestWithContext(t.Context(), "GET", target, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.as(req, "tenant-a")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s (cursor at %d µs, id %q): status %d %s", target, micros, id, resp.StatusCode, data)
		}
	})
}

// keepFuzzItem makes sure fuzzItemID exists in tenant A (a fuzzed DELETE
// may have removed it).
func (e *env) keepFuzzItem(t *testing.T) {
	t.Helper()
	_, err := e.db.OwnerPool.Exec(t.Context(), `
		INSERT INTO invoices (id, tenant_id, name) VALUES ($1, $2, 'fuzzed')
		ON CONFLICT (id) DO NOTHING`, fuzzItemID, e.a)
	if err != nil {
		t.Fatal(err)
	}
}

// validHeaderValue reports whether net/http's client accepts v as a header
// value: no control characters other than tab.
func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// cursorOf returns a cursor in the API's format (base64 of
// "<microseconds since 1970>.<id>") whatever its parts.
func cursorOf(micros int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(micros, 10) + "." + id))
}

// cursorAt returns a well-formed cursor at micros and fuzzItemID.
func cursorAt(micros int64) string { return cursorOf(micros, fuzzItemID) }
