package metrics_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/platform/logging"
	"shop/internal/platform/metrics"
)

// series returns the label values of name's series in reg, joined by "|".
func series(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var values []string
			for _, l := range m.GetLabel() {
				values = append(values, l.GetName()+"="+l.GetValue())
			}
			out = append(out, strings.Join(values, "|"))
		}
	}
	slices.Sort(out)
	return out
}

func serve(t *testing.T, tenantLabels bool, requests ...*http.Request) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHTTP(reg, tenantLabels)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		logging.Add(r.Context(), slog.String("tenant_id", "t-1"))
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /things", func(w http.ResponseWriter, _ *http.Request) {
		// The client went away; the handler still answers 500.
		w.WriteHeader(http.StatusInternalServerError)
	})
	h := logging.Middleware(slog.New(slog.DiscardHandler))(m.Middleware(logging.RecordRoute(mux)))
	for _, r := range requests {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	return reg
}

// TestHTTPLabelsAreBounded: routes are patterns (or "unmatched"), methods
// the standard ones (or "other"), and an abandoned request is a 4xx.
func TestHTTPLabelsAreBounded(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	reg := serve(t, false,
		httptest.NewRequest("GET", "/things/1", nil),
		httptest.NewRequest("GET", "/things/2", nil),
		httptest.NewRequest("GET", "/no/such/7", nil),
		httptest.NewRequest("BREW", "/things/3", nil),
		httptest.NewRequestWithContext(gone, "POST", "/things", nil),
	)
	want := []string{
		"method=GET|route=GET /things/{id}|status_class=2xx",
		"method=GET|route=unmatched|status_class=4xx",
		"method=POST|route=POST /things|status_class=4xx",
		"method=other|route=unmatched|status_class=4xx",
	}
	if got := series(t, reg, "http_requests_total"); !slices.Equal(got, want) {
		t.Errorf("http_requests_total series:\n got %q\nwant %q", got, want)
	}
	if got := series(t, reg, "http_request_duration_seconds"); len(got) != 4 || !slices.Contains(got, "method=GET|route=GET /things/{id}") {
		t.Errorf("http_request_duration_seconds series: %q", got)
	}
	if got := series(t, reg, "http_requests_in_flight"); !slices.Equal(got, []string{""}) {
		t.Errorf("http_requests_in_flight series: %q", got)
	}
}

// TestTenantLabelsOnlyWhenAsked: METRICS_TENANT_LABELS adds the tenant to
// http_requests_total, and only there.
func TestTenantLabelsOnlyWhenAsked(t *testing.T) {
	req := func() *http.Request { return httptest.NewRequest("GET", "/things/1", nil) }
	if got := series(t, serve(t, false, req()), "http_requests_total"); strings.Contains(strings.Join(got, ""), "tenant") {
		t.Errorf("a tenant label without METRICS_TENANT_LABELS: %q", got)
	}
	reg := serve(t, true, req())
	if got := series(t, reg, "http_requests_total"); !slices.Equal(got, []string{"method=GET|route=GET /things/{id}|status_class=2xx|tenant=t-1"}) {
		t.Errorf("http_requests_total with tenant labels: %q", got)
	}
	if got := series(t, reg, "http_request_duration_seconds"); strings.Contains(strings.Join(got, ""), "tenant") {
		t.Errorf("the duration histogram has a tenant label: %q", got)
	}
}
