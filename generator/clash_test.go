package generator_test

import (
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/generator/gentest"
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

// clashMoreRefused are further names the rule, computed from the
// templates, refuses: each one's identifiers collide with generated ones.
var clashMoreRefused = []string{
	"tenant", "validation_errors", "base", "services", "build", "logger", "page", "svc", "note", "created",
	"mux", "db", "after", "names", "item", "got", "logging", "e", "t",
}

// clashMoreAccepted are names close to identifiers of the generated code
// (platform package names, imports, locals) that the rule accepts: the
// project with all of them compiles (TestClashAcceptedNamesCompile).
var clashMoreAccepted = []string{
	"store", "domain", "httpapi", "mine", "metrics", "httpx", "catalog", "database", "tenants_list",
	"list_params", "validators", "migration_files", "stores", "handlers", "pgx", "pgconn", "embed", "apis",
	"api_errors", "envs", "notes_list", "inputs", "patches", "errs", "ids", "builds", "news", "handler",
	"resolver", "cfg", "parts", "args", "more", "tt", "installed_modules",
}

// clashInvalid are refused by the name rules before any clash analysis.
var clashInvalid = []string{"tenancy", "module", "slog", "strconv"}

func TestClashAcceptsOrdinaryNames(t *testing.T) {
	g := newGenerator()
	for _, name := range append(slices.Clone(clashAccepted), clashMoreAccepted...) {
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
	for _, name := range append(slices.Clone(clashRefused), clashMoreRefused...) {
		if err := generator.ValidateModuleName(name); err != nil {
			t.Errorf("ValidateModuleName(%q) = %v: the name should reach the clash analysis", name, err)
			continue
		}
		err := g.CheckModuleNames(generator.ModuleNames(name))
		var ie *generator.InputError
		if !errors.As(err, &ie) {
			t.Errorf("CheckModuleNames(%q) = %v, want an *InputError", name, err)
			continue
		}
		if ie.Value != name || !strings.Contains(ie.Reason, "internal/") || !strings.Contains(ie.Reason, ".go:") {
			t.Errorf("CheckModuleNames(%q): %q does not name the value and the generated file", name, err)
		}
	}
	for _, name := range clashInvalid {
		if err := generator.ValidateModuleName(name); !generator.IsInputError(err) {
			t.Errorf("ValidateModuleName(%q) = %v, want it refused", name, err)
		}
	}
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

// TestClashIsCached: the embedded trees use the shipped index and build
// none; other trees (here the embedded ones with one template edited) get
// their index computed once per parse, however many checks run, concurrently
// or not; another generator (its own parse) computes its own.
func TestClashIsCached(t *testing.T) {
	before := generator.ClashIndexBuilds.Load()
	if err := newGenerator().CheckModuleNames(generator.ModuleNames("notes")); err != nil {
		t.Fatal(err)
	}
	if n := generator.ClashIndexBuilds.Load() - before; n != 0 {
		t.Fatalf("the embedded templates built the index %d times, want 0 (the shipped index)", n)
	}
	edited := fstest.MapFS{}
	err := fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(templates.FS, p)
		edited[p] = &fstest.MapFile{Data: src, Mode: 0o644}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	readme := edited["project/README.md.tmpl"]
	readme.Data = append(slices.Clip(readme.Data), "\nEdited.\n"...)
	g := &generator.Generator{Templates: edited}
	if err := g.CheckModuleNames(generator.ModuleNames("notes")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if g.CheckModuleNames(generator.ModuleNames("service")) == nil {
				t.Error("service accepted")
			}
			if g.ValidateModuleList([]string{"billing"}) != nil {
				t.Error("billing refused")
			}
		})
	}
	wg.Wait()
	if n := generator.ClashIndexBuilds.Load() - before; n != 1 {
		t.Errorf("the index was built %d times for one generator, want once", n)
	}
	if err := (&generator.Generator{Templates: edited}).CheckModuleNames(generator.ModuleNames("notes")); err != nil {
		t.Fatal(err)
	}
	if n := generator.ClashIndexBuilds.Load() - before; n != 2 {
		t.Errorf("a second generator built the index %d times in all, want 2", n-1)
	}
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
	gentest.RequireModules(t)
	t.Parallel()
	opts := generator.DefaultOptions()
	opts.Name = "clash"
	opts.Module = "example.com/clash"
	// stores and handlers are left out: with store and handler they would
	// both make the tables store_notes and handler_notes (refused).
	opts.Modules = slices.DeleteFunc(append(slices.Clone(clashAccepted), clashMoreAccepted...), func(m string) bool {
		return m == "stores" || m == "handlers"
	})
	opts.Dir = filepath.Join(t.TempDir(), "clash")
	opts.SkipVerify = true
	opts.NoGit = true
	if _, err := newGenerator().New(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if out, err := goVet(opts.Dir); err != nil {
		t.Fatalf("go vet with modules %v: %v\n%s", opts.Modules, err, out)
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
	defaults := generator.DefaultOptions().Answers // the backends' files are chosen by these
	pd := generator.ProjectData{Name: "clash", Module: "example.com/clash", GoVersion: generator.GoVersion, CI: "none", Sessions: defaults.Sessions, Queue: defaults.Queue, Modules: []generator.Names{mod}}
	files, err := project.Render(pd)
	if err != nil {
		t.Fatal(err)
	}
	mfiles, err := generator.RenderModuleUnchecked(modTree, pd, mod, 1) // the modules' sequence starts at 1
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
	gentest.RequireModules(t)
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
		if err := g.ValidateModuleList([]string{raw}); err != nil && !generator.IsInputError(err) {
			t.Fatalf("ValidateModuleList(%q) = %v, want nil or an *InputError", raw, err)
		}
	})
}
