package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"shop/internal/platform/logging"
)

func TestOneLinePerRequestWithContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	logger := logging.New(&buf, slog.LevelInfo)

	inner := http.NewServeMux()
	inner.HandleFunc("GET /api/v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		// Attributes added deep inside (as tenancy does) reach the handler's
		// own records and the request line written outside.
		logging.Add(r.Context(), slog.String("tenant_id", "t-1"))
		logger.InfoContext(r.Context(), "handler ran")
		w.WriteHeader(http.StatusAccepted)
	})
	outer := http.NewServeMux()
	outer.Handle("/api/v1/", logging.RecordRoute(inner))
	h := logging.Middleware(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logging.Add(r.Context(), slog.String("request_id", "r-1"))
		logging.RecordRoute(outer).ServeHTTP(w, r.WithContext(r.Context()))
	}))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/things/7", nil))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), buf.String())
	}
	var handler, request map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &handler); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &request); err != nil {
		t.Fatal(err)
	}
	if handler["request_id"] != "r-1" || handler["tenant_id"] != "t-1" {
		t.Errorf("handler line lacks context attributes: %v", handler)
	}
	want := map[string]any{
		"msg": "request", "request_id": "r-1", "tenant_id": "t-1", "method": "GET",
		"route": "GET /api/v1/things/{id}", "status": float64(202),
	}
	for k, v := range want {
		if request[k] != v {
			t.Errorf("request line %s = %v, want %v (line %v)", k, request[k], v, request)
		}
	}
	if _, ok := request["duration_ms"].(float64); !ok {
		t.Errorf("request line lacks duration: %v", request)
	}
}

func TestAttributesDoNotLeakBetweenScopes(t *testing.T) {
	var buf bytes.Buffer
	logger := logging.New(&buf, slog.LevelInfo)
	parent := logging.Add(t.Context(), slog.String("job", "j"))
	a := logging.Scope(parent)
	logging.Add(a, slog.String("tenant_id", "a"))
	logger.InfoContext(parent, "parent")
	if strings.Contains(buf.String(), "tenant_id") || !strings.Contains(buf.String(), `"job":"j"`) {
		t.Fatalf("scope leaked or lost attributes: %s", buf.String())
	}
}
