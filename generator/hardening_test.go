package generator_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/generator/fsx"
)

// Writes stay inside the target tree: every writer (new into an existing
// directory with --force, add module) refuses a symlinked component that
// leads outside, before writing anything, and writes nothing outside.

func TestNewForceRefusesSymlinkOutside(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	dir := filepath.Join(base, "acme")
	for _, d := range []string{outside, dir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
	if err := os.Symlink("../outside", filepath.Join(dir, "internal")); err != nil {
		t.Fatal(err)
	}
	opts := generator.DefaultOptions()
	opts.Name, opts.Dir, opts.Force, opts.NoGit, opts.SkipVerify = "acme", dir, true, true, true
	before := readTree(t, dir)
	_, err := newGenerator().New(context.Background(), opts)
	var ie *generator.InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "internal") || !strings.Contains(err.Error(), "symbolic link leading outside") {
		t.Fatalf("New --force with internal -> ../outside = %v, want an *InputError naming the link", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("wrote %d entries outside the target", len(entries))
	}
	assertSameTree(t, before, readTree(t, dir))
}

func TestAddModuleRefusesSymlinkOutside(t *testing.T) {
	dir := newProject(t, "confined", "projects")
	outside := filepath.Join(filepath.Dir(dir), "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	modules := filepath.Join(dir, "internal", "modules")
	if err := os.Rename(modules, filepath.Join(outside, "modules")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../outside/modules", modules); err != nil {
		t.Fatal(err)
	}
	beforeOut, before := readTree(t, outside), readTree(t, dir)
	_, err := newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "billing", SkipVerify: true})
	if !generator.IsInputError(err) || !strings.Contains(err.Error(), "internal/modules") || !strings.Contains(err.Error(), "symbolic link leading outside") {
		t.Fatalf("add module with internal/modules -> outside = %v, want an *InputError naming the link", err)
	}
	assertSameTree(t, beforeOut, readTree(t, outside))
	assertSameTree(t, before, readTree(t, dir))
}

// A symlink that stays inside the tree is followed, and --dir may itself be
// a symlink to a directory.
func TestSymlinksInsideTheTreeWork(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	opts := generator.DefaultOptions()
	opts.Name, opts.Dir, opts.NoGit, opts.SkipVerify = "acme", link, true, true
	if _, err := newGenerator().New(context.Background(), opts); err != nil {
		t.Fatalf("new --dir <symlink to an empty directory>: %v", err)
	}
	if _, err := os.Stat(filepath.Join(real, generator.ManifestFile)); err != nil {
		t.Errorf("the project did not land in the link's target: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("--dir symlink replaced: %v", err)
	}
}

func TestDanglingDirSymlinkRefusedBeforeRendering(t *testing.T) {
	base := t.TempDir()
	link := filepath.Join(base, "link")
	if err := os.Symlink("missing", link); err != nil {
		t.Fatal(err)
	}
	g := newGenerator()
	rendered := false
	g.Progress = func(ev generator.Event) { rendered = rendered || ev.Step == "render templates" }
	opts := generator.DefaultOptions()
	opts.Name, opts.Dir, opts.NoGit, opts.SkipVerify = "acme", link, true, true
	_, err := g.New(context.Background(), opts)
	if !generator.IsInputError(err) || !strings.Contains(err.Error(), "symbolic link to missing, which does not exist") {
		t.Fatalf("new --dir <dangling symlink> = %v, want an *InputError", err)
	}
	if rendered {
		t.Error("rendered before refusing the target")
	}
	if entries, _ := os.ReadDir(base); len(entries) != 1 {
		t.Errorf("left %v", entries)
	}
}

func TestGitSymlinkRefused(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "acme")
	os.MkdirAll(filepath.Join(base, "elsewhere.git"), 0o755)
	os.Mkdir(dir, 0o755)
	os.Symlink("../elsewhere.git", filepath.Join(dir, ".git"))
	opts := generator.DefaultOptions()
	opts.Name, opts.Dir, opts.SkipVerify = "acme", dir, true
	_, err := newGenerator().New(context.Background(), opts)
	if !generator.IsInputError(err) || !strings.Contains(err.Error(), ".git as a symbolic link") {
		t.Fatalf("new into a directory whose .git is a symlink = %v", err)
	}
}

// TestConcurrentAddModule starts several add module runs in one project at
// once: the project lock serializes them, so every one succeeds, every
// module is wired, and no two share a migration version.
func TestConcurrentAddModule(t *testing.T) {
	dir := newProject(t, "together", "projects")
	names := []string{"billing", "invoices", "reports", "payments"}
	var waited sync.Map
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	migrations := make([]int, len(names))
	for i, name := range names {
		wg.Go(func() {
			g := newGenerator()
			g.Progress = func(ev generator.Event) {
				if strings.HasPrefix(ev.Step, "waiting for another saasgen command working in "+dir) {
					waited.Store(name, true)
				}
			}
			res, err := g.AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: name, SkipVerify: true})
			errs[i] = err
			if res != nil {
				migrations[i] = res.Migration
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("add module %s: %v", names[i], err)
		}
	}
	man, err := generator.ReadManifest(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	modulesGo, _ := os.ReadFile(filepath.Join(dir, "internal", "app", "modules.go"))
	for _, name := range names {
		if !slices.Contains(man.Modules, name) {
			t.Errorf("%s missing from saasgen.yaml: %v", name, man.Modules)
		}
		if !strings.Contains(string(modulesGo), name+".Module(),") {
			t.Errorf("%s not wired in modules.go", name)
		}
	}
	slices.Sort(migrations)
	if distinct := slices.Compact(slices.Clone(migrations)); len(distinct) != len(names) || distinct[0] == 0 {
		t.Errorf("migration versions %v: two modules share one", migrations)
	}
	n := 0
	waited.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Error("no run waited for the lock: the runs did not overlap, or the lock is not taken")
	}
}

// TestAddModuleRecoversKilledTransaction: a transaction a killed add module
// left (journal, new files, old contents) is rolled back by the next
// command, and the same add module then succeeds.
func TestAddModuleRecoversKilledTransaction(t *testing.T) {
	dir := newProject(t, "recover", "projects")
	before := readTree(t, dir)
	// The state a kill during verification leaves: the transaction open.
	res, err := newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "billing", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var files []fsx.File
	for _, p := range append(res.Added, res.Changed...) {
		files = append(files, fsx.File{Path: p, Content: []byte("from the killed run\n"), Mode: 0o644})
	}
	if _, err := fsx.Begin(dir, files); err != nil { // never committed: the process "died"
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, fsx.JournalFile)); err != nil {
		t.Fatal(err)
	}
	res, err = newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "billing", SkipVerify: true})
	if err != nil {
		t.Fatalf("add module after a killed run: %v", err)
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "rolled back its") {
		t.Errorf("notes = %q, want the recovery reported", res.Notes)
	}
	after := readTree(t, dir)
	for p := range after {
		if strings.HasSuffix(p, fsx.NewSuffix) || strings.HasSuffix(p, fsx.OldSuffix) || strings.HasPrefix(p, fsx.JournalFile) {
			t.Errorf("debris: %s", p)
		}
		if strings.Contains(after[p], "from the killed run") {
			t.Errorf("%s still holds the killed run's content", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s: gone", p)
		}
	}
	if !strings.Contains(after["internal/app/modules.go"], "billing.Module(),") {
		t.Error("billing is not wired")
	}
}

func TestModuleCountBound(t *testing.T) {
	opts := generator.DefaultOptions()
	opts.Name = "big"
	opts.Modules = nil
	for i := range generator.MaxModules + 1 {
		opts.Modules = append(opts.Modules, fmt.Sprintf("m%d", i))
	}
	_, err := newGenerator().Validate(opts)
	if !generator.IsInputError(err) || !strings.Contains(err.Error(), fmt.Sprintf("at most %d", generator.MaxModules)) {
		t.Fatalf("Validate with %d modules = %v, want the bound refused", len(opts.Modules), err)
	}
}
