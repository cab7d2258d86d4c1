package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"shop/internal/platform/config"
	"shop/internal/platform/httpx"
	"shop/internal/platform/logging"
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
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"one object", `{"name":"n"}`, http.StatusOK, ""},
		{"surrounding space", " {\"name\":\"n\"}\n", http.StatusOK, ""},
		{"empty", ``, http.StatusBadRequest, "invalid_json"},
		{"not JSON", `name=n`, http.StatusBadRequest, "invalid_json"},
		{"unknown field", `{"name":"n","colour":"red"}`, http.StatusBadRequest, "invalid_json"},
		{"two values", `{"name":"n"}{"name":"m"}`, http.StatusBadRequest, "invalid_json"},
		{"trailing garbage", `{"name":"n"} x`, http.StatusBadRequest, "invalid_json"},
		{"too large", `{"name":"` + strings.Repeat("x", httpx.MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got input
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if httpx.DecodeJSON(w, r, &got) {
					w.WriteHeader(http.StatusOK)
				}
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(tc.body)))
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
	logger := slog.New(slog.DiscardHandler)
	ok := httpx.Readyz(func(context.Context) error { return nil }, logger)
	down := httpx.Readyz(func(context.Context) error { return errors.New("database: ping: refused") }, logger)

	rec := httptest.NewRecorder()
	ok(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("ready: status %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	down(rec, httptest.NewRequest("GET", "/readyz", nil))
	var st httpx.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || rec.Code != 503 || st.Status != "unavailable" || !strings.Contains(st.Error, "refused") {
		t.Errorf("not ready: status %d body %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	httpx.Livez(rec, httptest.NewRequest("GET", "/livez", nil))
	if rec.Code != 200 {
		t.Errorf("livez: status %d", rec.Code)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	cfg := config.HTTP{ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second, ShutdownTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- httpx.Serve(ctx, ln, h, cfg, slog.New(slog.DiscardHandler)) }()

	url := "http://" + ln.Addr().String() + "/"
	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-started
	cancel()

	// The listener closes at once: new connections are refused while the
	// in-flight request is still running.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections after shutdown began")
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
}
