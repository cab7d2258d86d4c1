package checks_test

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// contractMetrics are the metric names of the round's contract
// (plan/CONTRACT.md, "Metric names") with the labels each carries. The
// dashboard and the alert rules may use these and nothing else; a histogram
// is used through its _bucket, _sum and _count series. Every series also has
// the target labels job and instance.
var contractMetrics = map[string][]string{
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
	// Written by Prometheus itself for every scrape, not by the app.
	"up": nil,
}

// contractHistograms are the metrics of contractMetrics that are histograms.
var contractHistograms = map[string]bool{
	"http_request_duration_seconds": true,
	"db_queries_per_request":        true,
	"jobs_duration_seconds":         true,
	"jobs_wait_seconds":             true,
}

// metricLabels returns the labels a series name may carry, and whether the
// name is one the contract lists (a histogram's _bucket series adds le).
func metricLabels(series string) ([]string, bool) {
	target := []string{"job", "instance"}
	if labels, ok := contractMetrics[series]; ok && !contractHistograms[series] {
		return append(target, labels...), true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, found := strings.CutSuffix(series, suffix)
		if found && contractHistograms[base] {
			labels := append(target, contractMetrics[base]...)
			if suffix == "_bucket" {
				labels = append(labels, "le")
			}
			return labels, true
		}
	}
	return nil, false
}

// contractEnv are the environment variables of the round's contract
// (plan/CONTRACT.md, "Environment variables"), some of which the generated
// config package does not read yet; knownEnv adds the ones it reads today.
var contractEnv = strings.Fields(`
	APP_ENV LOG_LEVEL
	HTTP_ADDR HTTP_READ_TIMEOUT HTTP_WRITE_TIMEOUT HTTP_IDLE_TIMEOUT HTTP_SHUTDOWN_TIMEOUT
	METRICS_ADDR TRUSTED_PROXIES PUBLIC_URL
	DATABASE_URL DATABASE_MAX_CONNS DATABASE_MIN_CONNS DATABASE_MAX_CONN_LIFETIME
	DATABASE_MAX_CONN_IDLE_TIME DATABASE_HEALTH_CHECK_PERIOD DATABASE_CONNECT_TIMEOUT
	DATABASE_STATEMENT_TIMEOUT DATABASE_QUERY_EXEC_MODE MIGRATE_DATABASE_URL
	REDIS_URL REDIS_POOL_SIZE REDIS_DIAL_TIMEOUT REDIS_READ_TIMEOUT REDIS_WRITE_TIMEOUT
	SESSION_LIFETIME SESSION_IDLE_TIMEOUT SESSION_COOKIE_NAME
	OIDC_ISSUER_URL OIDC_CLIENT_ID OIDC_CLIENT_SECRET OIDC_REDIRECT_URL OIDC_SCOPES
	RATE_LIMIT_IP RATE_LIMIT_API_KEY RATE_LIMIT_LOGIN RATE_LIMIT_EXPENSIVE
	JOBS_IN_PROCESS JOBS_CONCURRENCY JOBS_MAX_ATTEMPTS JOBS_SHUTDOWN_TIMEOUT
	BLOB_URL BLOB_SIGNING_KEY UPLOAD_MAX_BYTES BLOB_URL_EXPIRY
	SENTRY_DSN METRICS_TENANT_LABELS
`)

// sdkEnv matches variables read by libraries rather than the config package:
// OpenTelemetry's OTEL_* and the s3:// blob driver's AWS_* (credentials, region).
var sdkEnv = regexp.MustCompile(`^(OTEL_[A-Z0-9_]+|AWS_[A-Z0-9_]+)$`)

var envExampleLine = regexp.MustCompile(`^#? ?([A-Z][A-Z0-9_]*)=`)

// knownEnv returns every variable p's deploy files may set: the contract's,
// those in p's .env.example (what its config package reads today), and the
// SDKs' (checked with sdkEnv).
func knownEnv(t *testing.T, p project) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, k := range contractEnv {
		known[k] = true
	}
	sc := bufio.NewScanner(bytes.NewReader(p.read(t, ".env.example")))
	for sc.Scan() {
		if m := envExampleLine.FindStringSubmatch(sc.Text()); m != nil {
			known[m[1]] = true
		}
	}
	return known
}

// unknownEnv returns the names in names that knownEnv and sdkEnv do not know.
func unknownEnv(known map[string]bool, names []string) []string {
	var bad []string
	for _, n := range names {
		if !known[n] && !sdkEnv.MatchString(n) {
			bad = append(bad, n)
		}
	}
	return bad
}
