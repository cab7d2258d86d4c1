package config_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"shop/internal/platform/config"
)

const appURL = "postgres://app:pw@127.0.0.1:5432/shop"

func TestLoadDefaults(t *testing.T) {
	cfg, err := config.Load([]string{"DATABASE_URL=" + appURL})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Env != config.Development || cfg.HTTP.Addr != ":8080" || cfg.HTTP.ShutdownTimeout != 20*time.Second {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
	if cfg.Database.MaxConns != 20 || cfg.Database.MinConns != 10 || cfg.Database.QueryExecMode != config.CacheStatement {
		t.Errorf("unexpected database defaults: %+v", cfg.Database)
	}
	if cfg.Database.URL != appURL {
		t.Errorf("DATABASE_URL = %q", cfg.Database.URL)
	}
	if cfg.Database.ConnectTimeout != 5*time.Second || cfg.Database.StatementTimeout != 15*time.Second || cfg.Metrics.Addr != ":9464" {
		t.Errorf("unexpected timeout or metrics defaults: %+v, %+v", cfg.Database, cfg.Metrics)
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := config.Load([]string{
		"APP_ENV=staging",
		"HTTP_READ_TIMEOUT=5",
		"DATABASE_MAX_CONNS=many",
		"DATABASE_QUERY_EXEC_MODE=fast",
		"HTTP_IDLE_TIMEOUT=-1s",
		"MIGRATE_DATABASE_URL=postgres://owner:hunter2@host:notaport/db",
	})
	var verr *config.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load error = %v, want *ValidationError", err)
	}
	got := map[string]config.Problem{}
	for _, p := range verr.Problems {
		got[p.Name] = p
	}
	want := []string{"APP_ENV", "HTTP_READ_TIMEOUT", "DATABASE_MAX_CONNS", "DATABASE_QUERY_EXEC_MODE", "HTTP_IDLE_TIMEOUT", "DATABASE_URL", "MIGRATE_DATABASE_URL"}
	if len(got) != len(want) || len(verr.Problems) != len(want) {
		t.Errorf("problems = %v, want one for each of %v", verr.Problems, want)
	}
	msg := err.Error()
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("no problem reported for %s", name)
		}
		if !strings.Contains(msg, name) {
			t.Errorf("message does not name %s:\n%s", name, msg)
		}
	}
	for _, s := range []string{`"staging"`, "development, test or production", "cache_statement, cache_describe", "is required"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("message reveals a secret:\n%s", msg)
	}
}

func TestLoadChecksTenancy(t *testing.T) {
	for _, tc := range []struct {
		env     []string
		problem string // the variable named in the error, or "" for none
	}{
		{[]string{"TENANT_RESOLUTION=subdomain"}, "TENANT_BASE_DOMAIN"},
		{[]string{"TENANT_RESOLUTION=subdomain", "TENANT_BASE_DOMAIN=https://example.com"}, "TENANT_BASE_DOMAIN"},
		{[]string{"TENANT_RESOLUTION=subdomain", "TENANT_BASE_DOMAIN=example.com:8443"}, "TENANT_BASE_DOMAIN"},
		{[]string{"TENANT_RESOLUTION=subdomain", "TENANT_BASE_DOMAIN=example..com"}, "TENANT_BASE_DOMAIN"},
		{[]string{"TENANT_RESOLUTION=subdomain", "TENANT_BASE_DOMAIN=Apps.Example.com."}, ""},
		{[]string{"TENANT_RESOLUTION=cookie"}, "TENANT_RESOLUTION"},
		{[]string{"TENANT_RESOLUTION=header"}, ""},
	} {
		cfg, err := config.Load(append([]string{"DATABASE_URL=" + appURL}, tc.env...))
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.problem == "" && cfg.Tenancy.Resolution == "":
			t.Errorf("%v: no resolution in %+v", tc.env, cfg.Tenancy)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%v: err = %v, want a problem with %s", tc.env, err, tc.problem)
		}
	}
}

func TestLoadCrossChecks(t *testing.T) {
	_, err := config.Load([]string{"DATABASE_URL=" + appURL, "DATABASE_MAX_CONNS=5", "DATABASE_MIN_CONNS=6"})
	if err == nil || !strings.Contains(err.Error(), "DATABASE_MIN_CONNS") {
		t.Fatalf("MIN_CONNS above MAX_CONNS: err = %v", err)
	}
	if _, err := config.Load([]string{"DATABASE_URL=" + appURL, "DATABASE_MAX_CONNS=0", "DATABASE_MIN_CONNS=0"}); err == nil || !strings.Contains(err.Error(), "DATABASE_MAX_CONNS") {
		t.Fatalf("MAX_CONNS=0: err = %v", err)
	}
}

func TestLoadChecksTimeoutsAndListeners(t *testing.T) {
	for _, tc := range []struct{ env, problem string }{
		{"DATABASE_STATEMENT_TIMEOUT=0s", "DATABASE_STATEMENT_TIMEOUT"},
		{"DATABASE_STATEMENT_TIMEOUT=500us", "DATABASE_STATEMENT_TIMEOUT"}, // PostgreSQL would read 0: no limit
		{"DATABASE_CONNECT_TIMEOUT=-1s", "DATABASE_CONNECT_TIMEOUT"},
		{"METRICS_ADDR=:8080", "METRICS_ADDR"}, // the public listener's address
		{"DATABASE_STATEMENT_TIMEOUT=1ms", ""},
	} {
		_, err := config.Load([]string{"DATABASE_URL=" + appURL, tc.env})
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%s: %v", tc.env, err)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: err = %v, want a problem with %s", tc.env, err, tc.problem)
		}
	}
}

func TestRequireMigrate(t *testing.T) {
	cfg, err := config.Load([]string{"DATABASE_URL=" + appURL})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.RequireMigrate(); err == nil || !strings.Contains(err.Error(), "MIGRATE_DATABASE_URL") {
		t.Fatalf("RequireMigrate without MIGRATE_DATABASE_URL: %v", err)
	}
}

// TestVariablesCoverEveryField walks the Config struct independently of
// Variables and checks that every leaf field is a documented variable.
func TestVariablesCoverEveryField(t *testing.T) {
	vars, err := config.Variables()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]config.Variable{}
	for _, v := range vars {
		if _, dup := byName[v.Name]; dup {
			t.Errorf("variable %s is declared twice", v.Name)
		}
		byName[v.Name] = v
		if v.Description == "" || v.Accepted == "" {
			t.Errorf("variable %s lacks a description or accepted values", v.Name)
		}
	}
	var leaves int
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			if f := t.Field(i); f.Type.Kind() == reflect.Struct && f.Tag.Get("envPrefix") != "" {
				walk(f.Type)
			} else {
				leaves++
			}
		}
	}
	walk(reflect.TypeFor[config.Config]())
	if leaves != len(vars) {
		t.Errorf("Config has %d settings but Variables lists %d", leaves, len(vars))
	}

	// Every default must be accepted by Load.
	if _, err := config.Load([]string{"DATABASE_URL=" + appURL}); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestREADMETableMatchesConfig(t *testing.T) {
	vars, err := config.Variables()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- config:begin -->\n", "<!-- config:end -->"
	_, rest, ok := strings.Cut(string(readme), begin)
	table, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("README.md lacks the %q ... %q markers", strings.TrimSpace(begin), end)
	}
	if want := config.Markdown(vars); table != want {
		t.Errorf("README.md table of variables is out of date; replace it with the output of `go run ./cmd/shop config -format markdown`:\n%s", want)
	}
	for _, v := range vars {
		if !strings.Contains(table, "| `"+v.Name+"` |") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}

func TestEnvExampleMatchesConfig(t *testing.T) {
	vars, err := config.Variables()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	if want := config.EnvExample(vars); string(got) != want {
		t.Errorf(".env.example is out of date; regenerate it with `go run ./cmd/shop config -format env > .env.example`")
	}
	if _, err := config.Load(strings.Split(envAssignments(string(got)), "\n")); err != nil {
		t.Errorf(".env.example does not validate: %v", err)
	}
}

func envAssignments(s string) string {
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}
