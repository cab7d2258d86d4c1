package querycount_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"shop/internal/platform/database/dbtest"
	"shop/internal/platform/database/querycount"
	"shop/internal/platform/database/querycount/querycounttest"
)

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestBudgetWarningFiresOnALoop serves a deliberate N+1 loop and a frugal
// handler through the middleware with a budget of 5.
func TestBudgetWarningFiresOnALoop(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	pool := db.Pool(t, db.AppURL, func(c *pgxpool.Config) { c.ConnConfig.Tracer = querycount.Tracer{} })

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	metrics, err := querycount.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	query := func(ctx context.Context, times int) error {
		for range times {
			var one int
			if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				return err
			}
		}
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /loop/{n}", func(w http.ResponseWriter, r *http.Request) {
		if err := query(r.Context(), 6); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /frugal", func(w http.ResponseWriter, r *http.Request) {
		if err := query(r.Context(), 5); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	handler := querycount.Middleware(5, logger, metrics)(mux)

	for _, path := range []string{"/frugal", "/loop/1", "/loop/2"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}

	if got := counterValue(t, metrics.Exceeded("GET /loop/{n}")); got != 2 {
		t.Errorf(`db_query_budget_exceeded_total{route="GET /loop/{n}"} = %v, want 2`, got)
	}
	if got := counterValue(t, metrics.Exceeded("GET /frugal")); got != 0 {
		t.Errorf(`db_query_budget_exceeded_total{route="GET /frugal"} = %v, want 0`, got)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want 2 warnings:\n%s", len(lines), logs.String())
	}
	for _, line := range lines {
		for _, want := range []string{`"level":"WARN"`, `"msg":"query budget exceeded"`, `"route":"GET /loop/{n}"`, `"queries":6`, `"budget":5`} {
			if !strings.Contains(line, want) {
				t.Errorf("log line %s lacks %s", line, want)
			}
		}
	}
}

func TestAssertMaxCountsBatchesAsOneRoundTrip(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	pool := db.Pool(t, db.AppURL, func(c *pgxpool.Config) { c.ConnConfig.Tracer = querycount.Tracer{} })
	n := querycounttest.AssertMax(t, 3, func(ctx context.Context) {
		if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
		tx, err := pool.Begin(ctx) // BEGIN
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil { // ROLLBACK
			t.Fatal(err)
		}
	})
	if n != 3 {
		t.Errorf("counted %d round trips, want 3 (statement, BEGIN, ROLLBACK)", n)
	}
}
