package generator_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saasgen/saasgen/generator"
)

// requireServices skips an end-to-end test when PostgreSQL is not configured,
// and fails it instead under TEST_REQUIRE_SERVICES=1 (saasgen's CI), so a
// missing service can never pass there silently.
func requireServices(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	if os.Getenv("TEST_DATABASE_URL") == "" {
		if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("TEST_DATABASE_URL is not set and TEST_REQUIRE_SERVICES=1: the end-to-end tests need PostgreSQL")
		}
		t.Skip("TEST_DATABASE_URL not set: run " + generator.ServicesHint)
	}
}

func checkVerified(t *testing.T, rep *generator.Report, err error) {
	t.Helper()
	if err != nil {
		var b strings.Builder
		if rep != nil {
			rep.WriteText(&b)
		}
		t.Fatalf("verification: %v\n%s", err, b.String())
	}
	if !rep.OK() || rep.Tests.Passed == 0 || rep.Tests.Failed != 0 {
		t.Fatalf("report not OK: %+v", rep.Tests)
	}
	if os.Getenv("TEST_REQUIRE_SERVICES") == "1" && len(rep.Tests.Skipped) > 0 {
		t.Fatalf("tests skipped although services are required: %+v", rep.Tests.Skipped)
	}
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestEndToEndExamples generates every example, verifies it (build, vet, its
// whole suite against the real PostgreSQL) and checks go.mod/go.sum are tidy.
func TestEndToEndExamples(t *testing.T) {
	requireServices(t)
	for name, opts := range examples(t) {
		t.Run(name, func(t *testing.T) {
			opts.Dir = filepath.Join(t.TempDir(), opts.Name)
			res, err := newGenerator().New(context.Background(), opts)
			if res == nil {
				t.Fatal(err)
			}
			checkVerified(t, res.Verify, err)
			if res.Commit == "" {
				t.Error("no first commit")
			}
			if out := goCmd(t, opts.Dir, "mod", "tidy", "-diff"); out != "" {
				t.Errorf("generated go.mod/go.sum are not tidy:\n%s", out)
			}
			if out, err := exec.Command("gofmt", "-l", opts.Dir).CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("generated Go is not gofmt'ed: %s %v", out, err)
			}
		})
	}
}

// TestEndToEndAddModule generates a project, adds two modules and verifies
// the grown project: the new modules' own tests and the boundary, RLS and
// index catalog tests that cover every installed module.
func TestEndToEndAddModule(t *testing.T) {
	requireServices(t)
	opts := generator.DefaultOptions()
	opts.Name = "grow"
	opts.Module = "example.com/grow"
	opts.Dir = filepath.Join(t.TempDir(), "grow")
	opts.SkipVerify = true
	g := newGenerator()
	if _, err := g.New(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if _, err := g.AddModule(context.Background(), generator.AddOptions{Dir: opts.Dir, Name: "billing", SkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	res, err := g.AddModule(context.Background(), generator.AddOptions{Dir: filepath.Join(opts.Dir, "internal"), Name: "order_items", Commit: true})
	if res == nil {
		t.Fatal(err)
	}
	checkVerified(t, res.Verify, err)
	if res.Commit == "" {
		t.Error("--commit made no commit")
	}
	for _, p := range []string{"internal/modules/billing/billing.go", "internal/modules/orderitems/orderitems.go"} {
		if _, err := os.Stat(filepath.Join(opts.Dir, p)); err != nil {
			t.Error(err)
		}
	}
	// The catalog and boundary tests cover the new modules too.
	out := goCmd(t, opts.Dir, "test", "-count=1", "-run", "^(TestCatalog|TestBoundaries)$", "-v", "./internal/app/")
	for _, name := range []string{"TestCatalog", "TestBoundaries"} {
		if !strings.Contains(out, "--- PASS: "+name) {
			t.Errorf("%s did not pass in internal/app:\n%s", name, out)
		}
	}
	if out := goCmd(t, opts.Dir, "mod", "tidy", "-diff"); out != "" {
		t.Errorf("not tidy after add module:\n%s", out)
	}
}

// TestVerifyReportsFailure breaks a generated project and checks verification
// fails at the right step with the compiler's message.
func TestVerifyReportsFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	opts := generator.DefaultOptions()
	opts.Name = "broken"
	opts.Modules = nil
	opts.Dir = filepath.Join(t.TempDir(), "broken")
	opts.SkipVerify, opts.NoGit = true, true
	if _, err := newGenerator().New(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(opts.Dir, "internal", "app", "broken.go"), []byte("package app\n\nvar _ int = \"not an int\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := generator.Verify(context.Background(), opts.Dir, nil)
	var ve *generator.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Verify = %v, want a *VerifyError", err)
	}
	last := rep.Steps[len(rep.Steps)-1]
	if last.Name != "build" || last.OK || !strings.Contains(last.Output, "broken.go") {
		t.Errorf("failing step = %+v, want build failing on broken.go", last)
	}
}
