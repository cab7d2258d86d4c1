package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/acme/internal/platform/config"
	"github.com/acme/acme/internal/platform/httpx"
	"github.com/acme/acme/internal/platform/logging"
)

func TestRequestIDIsKeptOrGenerated(t *testing.T) {
	var seen string
	h := httpx.WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = httpx.RequestID(r.Context())
	}))
	for _, tc := range []struct {
		incoming string
		keep     bool
	}{
		{"abc-123_x.y:z", true},
		{"", false},
		{"has space", false},
		{"<script>", false},
		{strings.Repeat("a", 129), false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		if tc.incoming != "" {
			req.Header.Set(httpx.RequestIDHeader, tc.incoming)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		echoed := rec.Header().Get(httpx.RequestIDHeader)
		if echoed == "" || echoed != seen {
			t.Errorf("incoming %q: echoed %q, handler saw %q", tc.incoming, echoed, seen)
		}
		if (echoed == tc.incoming) != tc.keep {
			t.Errorf("incoming %q: got id %q, keep=%v", tc.incoming, echoed, tc.keep)
		}
	}
}

func TestErrorIsJSONWithRequestID(t *testing.T) {
	h := httpx.WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, r, http.StatusConflict, "slug_taken", "slug is taken")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(httpx.RequestIDHeader, "req-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if want := (httpx.ErrorDetail{Code: "slug_taken", Message: "slug is taken", RequestID: "req-1"}); !reflect.DeepEqual(body.Error, want) {
		t.Fatalf("body = %+v, want %+v", body.Error, want)
	}
	if strings.Contains(rec.Body.String(), "fields") {
		t.Errorf("an error without fields has a fields key: %s", rec.Body)
	}
}

func TestDecodeJSON(t *testing.T) {
	type input struct {
		Name string `json:"name"`
	}
	const jsonType = "application/json"
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"one object", jsonType, `{"name":"n"}`, http.StatusOK, ""},
		{"surrounding space", jsonType, " {\"name\":\"n\"}\n", http.StatusOK, ""},
		{"UTF-8 charset", "application/json; charset=UTF-8", `{"name":"n"}`, http.StatusOK, ""},
		{"a +json type", "application/merge-patch+json", `{"name":"n"}`, http.StatusOK, ""},
		{"empty", jsonType, ``, http.StatusBadRequest, "invalid_json"},
		{"not JSON", jsonType, `name=n`, http.StatusBadRequest, "invalid_json"},
		{"unknown field", jsonType, `{"name":"n","colour":"red"}`, http.StatusBadRequest, "invalid_json"},
		{"two values", jsonType, `{"name":"n"}{"name":"m"}`, http.StatusBadRequest, "invalid_json"},
		{"trailing garbage", jsonType, `{"name":"n"} x`, http.StatusBadRequest, "invalid_json"},
		{"too large", jsonType, `{"name":"` + strings.Repeat("x", httpx.MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"no content type", "", `{"name":"n"}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"form", "application/x-www-form-urlencoded", `name=n`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"text", "text/plain", `{"name":"n"}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"other charset", "application/json; charset=latin1", `{"name":"n"}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"malformed", "application/json; charset", `{"name":"n"}`, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got input
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if httpx.DecodeJSON(w, r, &got) {
					w.WriteHeader(http.StatusOK)
				}
			})
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %.200s)", rec.Code, tc.status, rec.Body)
			}
			if tc.status == http.StatusOK {
				if got.Name != "n" {
					t.Errorf("decoded %+v", got)
				}
				return
			}
			var body httpx.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != tc.code {
				t.Errorf("body %s (%v), want code %s", rec.Body, err, tc.code)
			}
		})
	}
}

func TestJSONFallback(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]string{"pattern": r.Pattern})
	})
	mux.HandleFunc("DELETE /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	var pattern string
	h := httpx.WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.JSONFallback(mux).ServeHTTP(w, r)
		pattern = r.Pattern // what logging.RecordRoute and querycount read
	}))
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/things/1", http.StatusOK, "", ""},
		{"DELETE", "/things/1", http.StatusNoContent, "", ""},
		{"GET", "/nothing", http.StatusNotFound, "not_found", ""},
		{"POST", "/things/1", http.StatusMethodNotAllowed, "method_not_allowed", "DELETE, GET, HEAD"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
			continue
		}
		if tc.code == "" {
			if tc.status == http.StatusOK && pattern != "GET /things/{id}" {
				t.Errorf("%s %s: r.Pattern = %q after the mux served it", tc.method, tc.path, pattern)
			}
			continue
		}
		var body httpx.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != tc.code || body.Error.RequestID == "" {
			t.Errorf("%s %s: body %s (%v), want JSON code %s with a request id", tc.method, tc.path, rec.Body, err, tc.code)
		}
		if got := rec.Header().Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestRecoverLogsAndAnswers500(t *testing.T) {
	var logs bytes.Buffer
	logger := logging.New(&logs, slog.LevelInfo)
	h := logging.Middleware(logger)(httpx.WithRequestID(httpx.Recover(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))))
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set(httpx.RequestIDHeader, "req-panic")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	var body httpx.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 500 || body.Error.Code != "internal" {
		t.Fatalf("status %d body %q (%v)", rec.Code, rec.Body, err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a panic line and a request line, got:\n%s", logs.String())
	}
	var panicLine, reqLine map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &panicLine)
	_ = json.Unmarshal([]byte(lines[1]), &reqLine)
	if panicLine["panic"] != "boom" || panicLine["request_id"] != "req-panic" || panicLine["stack"] == nil {
		t.Errorf("panic line = %v", panicLine)
	}
	if reqLine["status"] != float64(500) || reqLine["request_id"] != "req-panic" {
		t.Errorf("request line = %v", reqLine)
	}
}

func TestReadyz(t *testing.T) {
	var logs bytes.Buffer
	logger := logging.New(&logs, slog.LevelInfo)
	var drain httpx.Drain
	up := func(context.Context) error { return nil }
	ok := httpx.Readyz([]httpx.Check{{"database", up}, {"redis", up}}, &drain, logger)
	secret := "failed to connect to `user=acme_owner database=acme_prod`: 10.1.2.3:5432: refused"
	down := httpx.Readyz([]httpx.Check{
		{"database", func(context.Context) error { return errors.New(secret) }},
		{"redis", up},
		{"storage", func(context.Context) error { return errors.New("bucket gone") }},
	}, &drain, logger)

	rec := httptest.NewRecorder()
	ok(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("ready: status %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	down(rec, httptest.NewRequest("GET", "/readyz", nil))
	var st httpx.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 503 || st.Status != "unavailable" ||
		!slices.Equal(st.Failed, []string{"database", "storage"}) {
		t.Errorf("not ready: status %d body %q, want 503 naming database and storage", rec.Code, rec.Body)
	}
	for _, leak := range []string{"acme_owner", "acme_prod", "10.1.2.3", "refused"} {
		if strings.Contains(rec.Body.String(), leak) {
			t.Errorf("/readyz tells anyone %q: %s", leak, rec.Body)
		}
	}
	if !strings.Contains(logs.String(), "10.1.2.3") {
		t.Errorf("the reason is not in the log:\n%s", logs.String())
	}

	// A prober that gave up is not a readiness failure worth a log line.
	logs.Reset()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	rec = httptest.NewRecorder()
	down(rec, httptest.NewRequestWithContext(gone, "GET", "/readyz", nil))
	if rec.Code != httpx.StatusClientClosedRequest || logs.Len() != 0 {
		t.Errorf("abandoned probe: status %d, logged %q", rec.Code, logs.String())
	}

	drain.Start()
	rec = httptest.NewRecorder()
	ok(rec, httptest.NewRequest("GET", "/readyz", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 503 || st.Status != "draining" {
		t.Errorf("draining: status %d body %q, want 503 draining", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	httpx.Livez(rec, httptest.NewRequest("GET", "/livez", nil))
	if rec.Code != 200 {
		t.Errorf("livez: status %d", rec.Code)
	}
}

// testServer runs Serve on a free port with h (wrapped so that /readyz is
// the real handler over drain) until the returned stop is called; served
// receives Serve's result.
func testServer(t *testing.T, h http.Handler, grace time.Duration) (base string, stop func(), served <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	drain := new(httpx.Drain)
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /readyz", httpx.Readyz(nil, drain, slog.New(slog.DiscardHandler)))
	cfg := config.HTTP{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, ShutdownTimeout: grace}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() { errc <- httpx.Serve(ctx, ln, mux, cfg, drain, slog.New(slog.DiscardHandler)) }()
	return "http://" + ln.Addr().String(), cancel, errc
}

type result struct {
	status int
	body   string
	err    error
}

// getAsync sends GET url on a connection of its own.
func getAsync(url string) <-chan result {
	c := make(chan result, 1)
	go func() {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(url)
		if err != nil {
			c <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		c <- result{resp.StatusCode, string(b), err}
	}()
	return c
}

// TestServeDrains: after the signal, while a request is in flight, the
// listener stays open and /readyz answers 503 draining; the request
// finishes normally, then the listener closes and Serve returns.
func TestServeDrains(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	base, stop, served := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "finished")
	}), 5*time.Second)
	inflight := getAsync(base + "/slow")
	<-started
	stop()

	deadline := time.Now().Add(5 * time.Second)
	for {
		r := <-getAsync(base + "/readyz")
		if r.err == nil && r.status == http.StatusServiceUnavailable && strings.Contains(r.body, "draining") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz while draining: %d %s %v; want 503 draining", r.status, r.body, r.err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}

	close(release)
	if r := <-inflight; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: body %q, err %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 100*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("the listener is still open after Serve returned")
	}
}

// TestServeExitsAtOnceWhenIdle: with nothing in flight, the grace period is
// not waited for.
func TestServeExitsAtOnceWhenIdle(t *testing.T) {
	_, stop, served := testServer(t, http.NotFoundHandler(), time.Minute)
	start := time.Now()
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("an idle server took %s to stop", d)
	}
}

// TestServeBoundsShutdown: a request that does not finish within the grace
// period has its context cancelled with cause ErrShuttingDown and answers
// 503 through ServerError; Serve returns within the grace period plus
// CancelMargin. A handler that ignores its context has its connection
// closed.
func TestServeBoundsShutdown(t *testing.T) {
	const grace = 300 * time.Millisecond
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    int // status; 0 for a closed connection
	}{
		{"cancelled", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			httpx.ServerError(w, r, slog.New(slog.DiscardHandler), "stuck", r.Context().Err())
		}, http.StatusServiceUnavailable},
		{"deaf", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(grace + httpx.CancelMargin + 2*time.Second)
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			base, stop, served := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				tc.handler(w, r)
			}), grace)
			inflight := getAsync(base + "/stuck")
			<-started
			begin := time.Now()
			stop()
			if err := <-served; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if d, limit := time.Since(begin), grace+httpx.CancelMargin+time.Second; d > limit {
				t.Errorf("Serve took %s to return, more than %s", d, limit)
			}
			r := <-inflight
			switch {
			case tc.want == 0 && r.err == nil:
				t.Errorf("got %d %s, want a closed connection", r.status, r.body)
			case tc.want != 0 && (r.err != nil || r.status != tc.want || !strings.Contains(r.body, "shutting_down")):
				t.Errorf("got %d %s %v, want %d shutting_down", r.status, r.body, r.err, tc.want)
			}
		})
	}
}

func TestServerError(t *testing.T) {
	shuttingDown, cancel := context.WithCancelCause(context.Background())
	cancel(httpx.ErrShuttingDown)
	clientGone, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		err        error
		status     int
		code       string
		retryAfter bool
		level      string // of the handler's record
	}{
		{"shutting down", shuttingDown, context.Canceled, 503, "shutting_down", true, "WARN"},
		{"client gone", clientGone, context.Canceled, httpx.StatusClientClosedRequest, "", false, "DEBUG"},
		{"database unavailable", context.Background(), fmt.Errorf("store: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), 503, "unavailable", true, "WARN"},
		{"bug", context.Background(), errors.New("scan: wrong number of columns"), 500, "internal", false, "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := logging.New(&logs, slog.LevelDebug)
			rec := httptest.NewRecorder()
			httpx.ServerError(rec, httptest.NewRequestWithContext(tc.ctx, "GET", "/", nil), logger, "failed", tc.err)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.code != "" {
				var body httpx.ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != tc.code {
					t.Errorf("body %s, want code %s", rec.Body, tc.code)
				}
			}
			if got := rec.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
			}
			var rec1 map[string]any
			if err := json.Unmarshal(logs.Bytes(), &rec1); err != nil || rec1["level"] != tc.level {
				t.Errorf("logged %s, want one %s record", logs.String(), tc.level)
			}
		})
	}
}

// TestJSONErrorsNameNoGoType: a type mismatch is explained with the field
// and the JSON type, never the Go type behind it.
func TestJSONErrorsNameNoGoType(t *testing.T) {
	var v struct {
		Name  string `json:"name"`
		Count *int   `json:"count"`
	}
	for body, want := range map[string]string{
		`{"name":5}`:       "name must be a string",
		`{"count":"five"}`: "count must be an integer",
		`{"count":[1]}`:    "count must be an integer",
		`{"name":{"a":1}}`: "name must be a string",
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		httpx.DecodeJSON(rec, req, &v)
		var eb httpx.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || rec.Code != 400 || !strings.Contains(eb.Error.Message, want) || strings.Contains(eb.Error.Message, "Go") {
			t.Errorf("%s: %d %s; want 400 saying %q", body, rec.Code, rec.Body, want)
		}
	}
}

// TestErrorMessagesAreBounded: error messages that repeat client input (a
// JSON field name, a path) do not grow with it.
func TestErrorMessagesAreBounded(t *testing.T) {
	long := strings.Repeat("é", 50_000)
	var v struct{}
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{"`+long+`":1}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	httpx.DecodeJSON(rec, req, &v)
	if rec.Code != 400 || rec.Body.Len() > 1000 {
		t.Errorf("unknown field of 100 kB: status %d, %d bytes of answer", rec.Code, rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	httpx.JSONFallback(http.NewServeMux()).ServeHTTP(rec, httptest.NewRequest("GET", "/"+long, nil))
	if rec.Code != 404 || rec.Body.Len() > 1000 || !json.Valid(rec.Body.Bytes()) {
		t.Errorf("path of 100 kB: status %d, %d bytes of answer", rec.Code, rec.Body.Len())
	}
}
