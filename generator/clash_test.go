package generator_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/templates"
)

// clashAccepted are ordinary module names: CheckModuleNames must accept them
// and a project with all of them must compile.
var clashAccepted = []string{
	"billing", "invoices", "order_items", "projects", "notes", "items", "tasks", "comments", "events",
	"customers", "subscriptions", "orders", "accounts", "teams", "reports", "payments", "products",
}

// clashRefused are names whose generated code does not compile: each one's
// package or type name collides with an identifier of the generated code.
var clashRefused = []string{
	"service", "auth", "dbtest", "pages", "cursors", "uuid", "pgxpool", "querycount", "httptest", "env", "seed",
}

// clashMore are further names checked and logged, to show the lead what the
// rule computed from the templates refuses beyond the reported ones.
var clashMore = []string{
	"store", "domain", "httpapi", "tenancy", "module", "logging", "metrics", "httpx", "catalog", "database",
	"tenant", "tenants_list", "list_params", "validation_errors", "validators", "migration_files", "stores",
	"handlers", "pgx", "pgconn", "slog", "embed", "strconv", "apis", "base", "api_errors", "envs",
	"notes_list", "inputs", "patches", "errs", "ids", "services", "builds", "news",
	"build", "handler", "logger", "page", "svc", "note", "created", "resolver", "mux", "cfg", "db",
	"after", "names", "parts", "args", "more", "tt", "item", "got", "mine", "e", "t", "installed_modules",
}

func TestClashAcceptsOrdinaryNames(t *testing.T) {
	g := newGenerator()
	for _, name := range clashAccepted {
		if err := generator.ValidateModuleName(name); err != nil {
			t.Errorf("ValidateModuleName(%q) = %v", name, err)
			continue
		}
		if err := g.CheckModuleNames(generator.ModuleNames(name)); err != nil {
			t.Errorf("CheckModuleNames(%q) = %v, want nil", name, err)
		}
	}
}

func TestClashRefusesCollidingNames(t *testing.T) {
	g := newGenerator()
	var refused []string
	for _, name := range append(slices.Clone(clashRefused), clashMore...) {
		if generator.ValidateModuleName(name) != nil {
			continue
		}
		err := g.CheckModuleNames(generator.ModuleNames(name))
		if err != nil {
			refused = append(refused, name)
			t.Logf("refused: %v", err)
		}
		if !slices.Contains(clashRefused, name) {
			continue
		}
		var ie *generator.InputError
		if !errors.As(err, &ie) {
			t.Errorf("CheckModuleNames(%q) = %v, want an *InputError", name, err)
			continue
		}
		if ie.Value != name || !strings.Contains(ie.Reason, "internal/") || !strings.Contains(ie.Reason, ".go:") {
			t.Errorf("CheckModuleNames(%q): %q does not name the value and the generated file", name, err)
		}
	}
	t.Logf("refused set: %s", strings.Join(refused, ", "))
}

// TestClashReasons pins the identifier each reported name clashes with.
func TestClashReasons(t *testing.T) {
	g := newGenerator()
	for name, want := range map[string]string{
		"service":    `identifier Service declared`,
		"pages":      `shadowed by the identifier pages declared in the generated internal/modules/pages/pages_test.go`,
		"cursors":    `identifier Cursor declared`,
		"auth":       `identifier auth declared in the generated internal/modules/auth/auth_test.go`,
		"uuid":       `identifier uuid declared`,
		"env":        `identifier env declared in the generated internal/modules/env/env_test.go`,
		"seed":       `identifier seed declared`,
		"httptest":   `identifier httptest declared`,
		"querycount": `identifier querycount declared`,
	} {
		err := g.CheckModuleNames(generator.ModuleNames(name))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckModuleNames(%q) = %v, want it to contain %q", name, err, want)
		}
	}
}

// TestClashIsCached: the index is computed once per parsed template trees.
func TestClashIsCached(t *testing.T) {
	g := newGenerator()
	if err := g.CheckModuleNames(generator.ModuleNames("notes")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if g.CheckModuleNames(generator.ModuleNames("service")) == nil {
				t.Error("service accepted")
			}
		})
	}
	wg.Wait()
}

func goVet(dir string) (string, error) {
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestClashAcceptedNamesCompile proves the accepted side of the rule: a
// project with every accepted module passes go vet.
func TestClashAcceptedNamesCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project")
	}
	t.Parallel()
	opts := generator.DefaultOptions()
	opts.Name = "clash"
	opts.Module = "example.com/clash"
	opts.Modules = slices.Clone(clashAccepted)
	opts.Dir = filepath.Join(t.TempDir(), "clash")
	opts.SkipVerify = true
	opts.NoGit = true
	if _, err := newGenerator().New(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if out, err := goVet(opts.Dir); err != nil {
		t.Fatalf("go vet with modules %v: %v\n%s", clashAccepted, err, out)
	}
}

// renderUnchecked renders a project with one module straight from the
// templates, bypassing every name check, and writes it to dir.
func renderUnchecked(t *testing.T, dir, module string) {
	t.Helper()
	project, err := generator.ParseTemplates(templates.FS, generator.ProjectTree)
	if err != nil {
		t.Fatal(err)
	}
	modTree, err := generator.ParseTemplates(templates.FS, generator.ModuleTree)
	if err != nil {
		t.Fatal(err)
	}
	mod := generator.ModuleNames(module)
	pd := generator.ProjectData{Name: "clash", Module: "example.com/clash", GoVersion: generator.GoVersion, CI: "none", Modules: []generator.Names{mod}}
	files, err := project.Render(pd)
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	migration := generator.NextMigration(paths)
	mfiles, err := modTree.Render(generator.ModuleData{Project: pd, Mod: mod, Migration: migration, MigrationPrefix: fmt.Sprintf("%05d", migration)})
	if err != nil {
		t.Fatal(err)
	}
	if err := generator.WriteNew(append(files, mfiles...), dir); err != nil {
		t.Fatal(err)
	}
}

// TestClashRefusedNamesDoNotCompile proves the refused side: rendered
// anyway, each name's project fails go vet on the identifier the check
// names.
func TestClashRefusedNamesDoNotCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds projects")
	}
	t.Parallel()
	g := newGenerator()
	for _, name := range []string{"service", "auth", "env", "pages"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var ie *generator.InputError
			if err := g.CheckModuleNames(generator.ModuleNames(name)); !errors.As(err, &ie) {
				t.Fatalf("CheckModuleNames(%q) = %v, want an *InputError", name, err)
			}
			dir := filepath.Join(t.TempDir(), "clash")
			renderUnchecked(t, dir, name)
			out, err := goVet(dir)
			if err == nil {
				t.Fatalf("go vet passed with module %q, which CheckModuleNames refuses: %v", name, ie)
			}
			if !strings.Contains(out, "redeclared") && !strings.Contains(out, "already declared") {
				t.Errorf("go vet with module %q failed, but not on a clash:\n%s", name, out)
			}
			t.Logf("%s: %s", name, firstLines(out, 3))
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[:min(n, len(lines))], " | ")
}

// FuzzCheckModuleNames checks the clash analysis never panics and answers
// every valid module name with nil or an *InputError.
func FuzzCheckModuleNames(f *testing.F) {
	for _, s := range []string{"billing", "service", "env", "order_items", "a", "t_t", "zzq_probies"} {
		f.Add(s)
	}
	g := newGenerator()
	f.Fuzz(func(t *testing.T, raw string) {
		if generator.ValidateModuleName(raw) != nil {
			return
		}
		if err := g.ValidateModule(raw); err != nil && !generator.IsInputError(err) {
			t.Fatalf("ValidateModule(%q) = %v, want nil or an *InputError", raw, err)
		}
	})
}
