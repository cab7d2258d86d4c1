package generator_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/templates"
)

// update rewrites the golden trees instead of comparing against them.
var update = os.Getenv("SAASGEN_UPDATE") != ""

// goldenVersion is the saasgen version golden trees are rendered with, so they
// do not change with every release.
const goldenVersion = "dev"

func newGenerator() *generator.Generator {
	return &generator.Generator{Templates: templates.FS, Version: goldenVersion}
}

// examples returns the answers files under examples/, by name.
func examples(t testing.TB) map[string]generator.Options {
	t.Helper()
	paths, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	out := map[string]generator.Options{}
	for _, p := range paths {
		af, err := generator.ReadAnswersFile(p)
		if err != nil {
			t.Fatal(err)
		}
		o := generator.DefaultOptions()
		af.ApplyTo(&o)
		o.Normalize()
		out[strings.TrimSuffix(filepath.Base(p), ".yaml")] = o
	}
	return out
}

func TestEveryTemplateParses(t *testing.T) {
	for _, root := range []string{generator.ProjectTree, generator.ModuleTree} {
		if _, err := generator.ParseTemplates(templates.FS, root); err != nil {
			t.Errorf("%s: %v", root, err)
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	for name, opts := range examples(t) {
		a, err := newGenerator().Render(opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := newGenerator().Render(opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("%s: %d files then %d", name, len(a), len(b))
		}
		for i := range a {
			if a[i].Path != b[i].Path || !bytes.Equal(a[i].Content, b[i].Content) || a[i].Mode != b[i].Mode {
				t.Errorf("%s: %s differs between two renders", name, a[i].Path)
			}
		}
	}
}

// TestGolden compares the render of each examples/*.yaml with golden/<name>/,
// file by file. SAASGEN_UPDATE=1 rewrites the golden trees; read the diff
// before committing it.
func TestGolden(t *testing.T) {
	for name, opts := range examples(t) {
		t.Run(name, func(t *testing.T) {
			files, err := newGenerator().Render(opts)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, files)
		})
	}
}

// checkGolden compares files with the tree golden/<name>, or rewrites that
// tree under SAASGEN_UPDATE=1 and fails, so that an update is never
// committed unread.
func checkGolden(t *testing.T, name string, files []generator.File) {
	t.Helper()
	dir := filepath.Join("..", "golden", name)
	if !update {
		compareTree(t, dir, files)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := generator.WriteNew(files, dir); err != nil {
		t.Fatal(err)
	}
	t.Errorf("SAASGEN_UPDATE: golden/%s rewritten; read the diff (git diff -- golden/%s) and run the tests again without SAASGEN_UPDATE", name, name)
}

func compareTree(t *testing.T, dir string, files []generator.File) {
	t.Helper()
	for _, p := range treeDiff(dir, files) {
		t.Error(p)
	}
}

// treeDiff lists how the tree at dir differs from files: content, mode,
// missing and extra files.
func treeDiff(dir string, files []generator.File) []string {
	var problems []string
	want := map[string]bool{}
	for _, f := range files {
		want[f.Path] = true
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		got, err := os.ReadFile(p)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: missing from the golden tree (rendered now): run SAASGEN_UPDATE=1 go test ./generator -run TestGolden and read the diff", f.Path))
			continue
		}
		if !bytes.Equal(got, f.Content) {
			problems = append(problems, fmt.Sprintf("%s differs from golden:\n%s", f.Path, lineDiff(string(got), string(f.Content))))
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != f.Mode.Perm() {
			problems = append(problems, fmt.Sprintf("%s: mode %v rendered, %v in the golden tree", f.Path, f.Mode.Perm(), fi.Mode().Perm()))
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !want[filepath.ToSlash(rel)] {
			problems = append(problems, fmt.Sprintf("%s: in the golden tree but no longer rendered", filepath.ToSlash(rel)))
		}
		return nil
	})
	return problems
}

// TestTreeDiffComparesModes: a file whose mode differs is a difference.
func TestTreeDiffComparesModes(t *testing.T) {
	dir := t.TempDir()
	files := []generator.File{{Path: "run.sh", Content: []byte("#!/bin/sh\n"), Mode: 0o755}, {Path: "a.txt", Content: []byte("a"), Mode: 0o644}}
	if err := generator.WriteNew(files, dir); err != nil {
		t.Fatal(err)
	}
	if d := treeDiff(dir, files); len(d) > 0 {
		t.Fatalf("identical trees differ: %q", d)
	}
	os.Chmod(filepath.Join(dir, "run.sh"), 0o644)
	if d := treeDiff(dir, files); len(d) != 1 || !strings.Contains(d[0], "run.sh: mode -rwxr-xr-x rendered, -rw-r--r-- in the golden tree") {
		t.Errorf("a lost executable bit: %q", d)
	}
}

// lineDiff shows the first differing lines with a little context.
func lineDiff(golden, now string) string {
	g, n := strings.Split(golden, "\n"), strings.Split(now, "\n")
	i := 0
	for i < len(g) && i < len(n) && g[i] == n[i] {
		i++
	}
	var b strings.Builder
	for k := max(0, i-2); k < i; k++ {
		fmt.Fprintf(&b, "    %4d   %s\n", k+1, g[k])
	}
	for k := i; k < min(len(g), i+5); k++ {
		fmt.Fprintf(&b, "    %4d - %s\n", k+1, g[k])
	}
	for k := i; k < min(len(n), i+5); k++ {
		fmt.Fprintf(&b, "    %4d + %s\n", k+1, n[k])
	}
	return b.String()
}

// TestGoldenAddModule compares the canonical example after
// `saasgen add module billing` with golden/default-add-billing/: diffing that
// tree with golden/default/ shows exactly what add module changes.
func TestGoldenAddModule(t *testing.T) {
	opts := examples(t)["default"]
	files, err := newGenerator().Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "p")
	if err := generator.WriteNew(files, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "billing", SkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	var after []generator.File
	for p, content := range readTree(t, dir) {
		if !strings.HasSuffix(p, "/") {
			fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			after = append(after, generator.File{Path: p, Content: []byte(content), Mode: fi.Mode().Perm()})
		}
	}
	checkGolden(t, "default-add-billing", after)
}

// TestOnlyOwnedFilesDependOnModules: add module rewrites every file whose
// render depends on the module list, so each must be marked as owned by
// saasgen; a user-owned file that changed with the modules would be
// clobbered or block every add.
func TestOnlyOwnedFilesDependOnModules(t *testing.T) {
	opts := examples(t)["default"]
	without, err := newGenerator().Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Modules = []string{"projects", "billing", "order_items"}
	with, err := newGenerator().Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, f := range without {
		before[f.Path] = f.Content
	}
	owned := 0
	for _, f := range with {
		prev, ok := before[f.Path]
		if !ok || bytes.Equal(prev, f.Content) || f.Path == generator.ManifestFile {
			continue
		}
		if !bytes.Contains(f.Content, []byte(generator.OwnedMarker)) {
			t.Errorf("%s depends on the module list but is not marked %q", f.Path, generator.OwnedMarker)
		}
		owned++
	}
	if owned == 0 {
		t.Error("no project file depends on the module list; the composition root should")
	}
}

// TestAddModuleAcceptsOwnedFileFromOlderTemplates: a project generated by an
// older saasgen, whose owned file renders differently today, is still
// recognised as untouched through the hash in saasgen.yaml; an edit is not.
func TestAddModuleAcceptsOwnedFileFromOlderTemplates(t *testing.T) {
	older := fstest.MapFS{}
	err := fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.FS, p)
		if strings.HasSuffix(p, "internal/app/modules.go.tmpl") {
			b = bytes.Replace(b, []byte("package app"), []byte("// Written by an older saasgen.\n\npackage app"), 1)
		}
		older[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := examples(t)["default"]
	files, err := (&generator.Generator{Templates: older, Version: goldenVersion}).Render(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "p")
	if err := generator.WriteNew(files, dir); err != nil {
		t.Fatal(err)
	}
	res, err := newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "billing", SkipVerify: true})
	if err != nil {
		t.Fatalf("add module on a project from older templates: %v", err)
	}
	if !slices.Contains(res.Changed, "internal/app/modules.go") {
		t.Errorf("changed %v, want internal/app/modules.go rewritten", res.Changed)
	}
	modulesGo := filepath.Join(dir, "internal", "app", "modules.go")
	f, err := os.OpenFile(modulesGo, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("// edited by hand\n")
	f.Close()
	_, err = newGenerator().AddModule(context.Background(), generator.AddOptions{Dir: dir, Name: "invoices", SkipVerify: true})
	if !generator.IsInputError(err) || !strings.Contains(err.Error(), "changed by hand") {
		t.Errorf("add module after a hand edit = %v, want the owned-file refusal", err)
	}
}
