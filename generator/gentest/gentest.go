// Package gentest holds the test helpers of code that generates projects
// and builds them: what a test needs from its environment (PostgreSQL, the
// generated project's Go modules) and how it says so when that is missing.
// A missing need skips the test with the reason, and fails it under
// TEST_REQUIRE_SERVICES=1 (saasgen's CI), so it can never pass silently.
package gentest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/templates"
)

// ServicesRequired reports whether a missing service or module source is a
// failure (TEST_REQUIRE_SERVICES=1) rather than a skip.
func ServicesRequired() bool { return os.Getenv("TEST_REQUIRE_SERVICES") == "1" }

func missing(t testing.TB, why string) {
	t.Helper()
	if ServicesRequired() {
		t.Fatal(why + " (TEST_REQUIRE_SERVICES=1)")
	}
	t.Skip(why)
}

// RequireServices skips an end-to-end test when PostgreSQL or Redis (the
// generated suites use both: sessions, rate limits, the Asynq queue) is not
// configured (or with -short), and fails it under TEST_REQUIRE_SERVICES=1.
func RequireServices(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	for _, v := range []struct{ name, service string }{
		{"TEST_DATABASE_URL", "PostgreSQL"},
		{"TEST_REDIS_URL", "Redis"},
	} {
		if os.Getenv(v.name) == "" {
			missing(t, v.name+" is not set: the end-to-end tests need "+v.service+"; run "+generator.ServicesHint)
		}
	}
	RequireModules(t)
}

var modules struct {
	once sync.Once
	err  string
}

// RequireModules is for a test that builds a generated project: the
// project's dependencies must be in the module cache, or the Go module proxy
// must be reachable to fetch them (once, for every test of the binary).
// Otherwise the test is skipped (failed under TEST_REQUIRE_SERVICES=1) with
// the reason. It also skips with -short.
func RequireModules(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a generated project: skipped with -short")
	}
	if ok, why := ModulesAvailable(); !ok {
		missing(t, why)
	}
}

// ModulesAvailable reports whether the generated project's modules are in
// the module cache, or were fetched into it through the Go module proxy;
// when not, it says why.
func ModulesAvailable() (bool, string) {
	modules.once.Do(func() { modules.err = downloadModules() })
	if modules.err != "" {
		return false, "builds a generated project, whose modules are neither in the module cache nor reachable through the Go module proxy: " + modules.err
	}
	return true, ""
}

// downloadModules runs go mod download for the go.mod and go.sum of a
// generated project: from the cache alone first, then through GOPROXY.
func downloadModules() string {
	files, err := (&generator.Generator{Templates: templates.FS, Version: "dev"}).Render(minimal())
	if err != nil {
		return err.Error()
	}
	dir, err := os.MkdirTemp("", "gentest-modules-*")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(dir)
	written := 0
	for _, f := range files {
		if f.Path == "go.mod" || f.Path == "go.sum" {
			if err := os.WriteFile(filepath.Join(dir, f.Path), f.Content, 0o644); err != nil {
				return err.Error()
			}
			written++
		}
	}
	if written != 2 {
		return "the generated project has no go.mod and go.sum"
	}
	if goCmd(dir, "GOPROXY=off", "mod", "download") == "" {
		return ""
	}
	if out := goCmd(dir, "", "mod", "download"); out != "" {
		return out
	}
	return ""
}

func minimal() generator.Options {
	o := generator.DefaultOptions()
	o.Name = "warm"
	return o
}

// goCmd runs the go command with one extra variable; it returns "" on
// success, else the error and output.
func goCmd(dir, env string, args ...string) string {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if env != "" {
		cmd.Env = append(cmd.Env, env)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return strings.TrimSpace(err.Error() + ": " + string(out))
	}
	return ""
}
