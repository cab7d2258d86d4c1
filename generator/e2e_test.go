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

// requireServices skips an end-to-end test when PostgreSQL or Redis is not
// configured, and fails it instead under TEST_REQUIRE_SERVICES=1 (saasgen's
// CI), so a missing service can never pass there silently.
func requireServices(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	for _, v := range []string{"TEST_DATABASE_URL", "TEST_REDIS_URL"} {
		if os.Getenv(v) == "" {
			if os.Getenv("TEST_REQUIRE_SERVICES") == "1" {
				t.Fatal(v + " is not set and TEST_REQUIRE_SERVICES=1: the end-to-end tests need PostgreSQL and Redis")
			}
			t.Skip(v + " not set: run " + generator.ServicesHint)
		}
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

// goCmd runs the go command in dir and returns its standard output. Its
// standard error (progress such as "go: downloading", which a cold module
// cache prints) is shown only when the command fails.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s%s", strings.Join(args, " "), dir, err, out, stderr.String())
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

// newProject generates a project without verification for the add-module
// tests and returns its directory.
func newProject(t *testing.T, name string, modules ...string) string {
	t.Helper()
	opts := generator.DefaultOptions()
	opts.Name = name
	opts.Module = "example.com/" + name
	opts.Modules = modules
	opts.Dir = filepath.Join(t.TempDir(), name)
	opts.SkipVerify = true
	if _, err := newGenerator().New(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	return opts.Dir
}

// TestAddModuleRollbackOnFailedVerification: with Rollback, a failed
// verification leaves the project byte for byte as it was; without it, the
// module's files are kept.
func TestAddModuleRollbackOnFailedVerification(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	dir := newProject(t, "rollback", "projects")
	// The owners broke their build; verification after the add will fail.
	if err := os.WriteFile(filepath.Join(dir, "internal", "app", "broken.go"), []byte("package app\n\nvar _ int = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, dir)
	res, err := newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "billing", Rollback: true})
	var ve *generator.VerifyError
	if !errors.As(err, &ve) || res == nil || !res.RolledBack {
		t.Fatalf("AddModule = %+v, %v; want a rolled-back *VerifyError", res, err)
	}
	assertSameTree(t, before, readTree(t, dir))

	res, err = newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "billing"})
	if !errors.As(err, &ve) || res.RolledBack {
		t.Fatalf("AddModule without rollback = %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "internal", "modules", "billing", "billing.go")); err != nil {
		t.Errorf("without --rollback the module's files should be kept: %v", err)
	}
}

// TestAddModuleInterruptedRollsBack cancels the run while verification is
// under way, as Ctrl-C does: the project must be exactly as it was.
func TestAddModuleInterruptedRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	dir := newProject(t, "interrupt")
	before := readTree(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := newGenerator()
	g.Progress = func(ev generator.Event) {
		if !ev.Done && strings.HasPrefix(ev.Step, "go build") {
			cancel()
		}
	}
	res, err := g.AddModule(ctx, generator.AddOptions{Dir: dir, Name: "billing"})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("AddModule = %+v, %v; want context.Canceled and no result", res, err)
	}
	assertSameTree(t, before, readTree(t, dir))
}

func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			tree[filepath.ToSlash(rel)+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		tree[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func assertSameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, c := range before {
		if got, ok := after[p]; !ok {
			t.Errorf("%s: gone", p)
		} else if got != c {
			t.Errorf("%s: changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: left behind", p)
		}
	}
}
