package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWriteNewLandsWholeTree(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "acme")
	files := []File{{Path: "a/b.txt", Content: []byte("b"), Mode: 0o644}, {Path: "run.sh", Content: []byte("#!/bin/sh\n"), Mode: 0o755}}
	if err := WriteNew(files, dir); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dir)
	if len(got) != 2 || got["a/b.txt"] != "b" {
		t.Errorf("tree = %v", got)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "run.sh")); fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh mode %v", fi.Mode())
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("staging left behind: %v", entries)
	}
}

func TestWriteNewFailureLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "acme")
	// The second file cannot be written: its parent path is the first file.
	files := []File{{Path: "a", Content: []byte("x"), Mode: 0o644}, {Path: "a/b", Content: []byte("y"), Mode: 0o644}}
	if err := WriteNew(files, dir); err == nil {
		t.Fatal("WriteNew succeeded, want an error")
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("a failed write left %v", entries)
	}
}

func TestWriteNewIntoEmptyDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "empty")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(dir)
	if err := WriteNew([]File{{Path: "x", Content: []byte("1"), Mode: 0o644}}, dir); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dir); got["x"] != "1" {
		t.Errorf("tree = %v", got)
	}
	after, _ := os.Stat(dir)
	if !os.SameFile(before, after) || after.Mode().Perm() != 0o700 {
		t.Errorf("the existing directory was replaced (mode %v), not filled", after.Mode())
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("left beside the target: %v", entries)
	}
}

func TestCheckOverwrites(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "README.md"), 0o755)
	os.WriteFile(filepath.Join(root, "cmd"), []byte("a file"), 0o644)
	for _, f := range []File{{Path: "README.md"}, {Path: "cmd/acme/main.go"}} {
		if err := CheckOverwrites(root, []File{f}); err == nil || !IsInputError(err) || !strings.Contains(err.Error(), f.Path) {
			t.Errorf("CheckOverwrites(%s) = %v, want an *InputError naming it", f.Path, err)
		}
	}
	if err := CheckOverwrites(root, []File{{Path: "internal/x.go"}, {Path: "keep/new.txt"}}); err != nil {
		t.Errorf("free paths: %v", err)
	}
}

func TestCheckTarget(t *testing.T) {
	dir := t.TempDir()
	if err := CheckTarget(filepath.Join(dir, "new"), false); err != nil {
		t.Errorf("absent: %v", err)
	}
	if err := CheckTarget(dir, false); err != nil {
		t.Errorf("empty: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
	if err := CheckTarget(dir, false); err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("non-empty without force: %v", err)
	}
	if err := CheckTarget(dir, true); err != nil {
		t.Errorf("non-empty with force: %v", err)
	}
	if err := CheckTarget(filepath.Join(dir, "keep.txt"), true); err == nil || !IsInputError(err) {
		t.Errorf("a file as target: %v", err)
	}
}

func TestForceKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("old"), 0o644)
	if err := WriteNew([]File{{Path: "README.md", Content: []byte("new"), Mode: 0o644}, {Path: "d/e.go", Content: []byte("package d"), Mode: 0o644}}, dir); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dir)
	want := map[string]string{"keep.txt": "mine", "README.md": "new", "d/e.go": "package d"}
	if len(got) != len(want) {
		t.Fatalf("tree = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestFileTxRollbackRestoresTree(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "internal/app"), 0o755)
	os.WriteFile(filepath.Join(dir, "internal/app/modules.go"), []byte("old"), 0o644)
	before := readTree(t, dir)
	tx, err := WriteFiles(dir, []File{
		{Path: "internal/app/modules.go", Content: []byte("new"), Mode: 0o644},
		{Path: "internal/modules/billing/billing.go", Content: []byte("package billing"), Mode: 0o644},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dir); got["internal/app/modules.go"] != "new" || got["internal/modules/billing/billing.go"] == "" {
		t.Fatalf("after write: %v", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	after := readTree(t, dir)
	if len(after) != len(before) || after["internal/app/modules.go"] != "old" {
		t.Errorf("after rollback %v, want %v", after, before)
	}
	if _, err := os.Stat(filepath.Join(dir, "internal/modules")); !os.IsNotExist(err) {
		t.Errorf("rollback left the created directory internal/modules")
	}
}

func TestFileTxFailureUndoesEarlierFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir, "blocker"), []byte("a file, not a dir"), 0o644)
	before := readTree(t, dir)
	_, err := WriteFiles(dir, []File{{Path: "a.txt", Content: []byte("new"), Mode: 0o644}, {Path: "blocker/x.txt", Content: []byte("x"), Mode: 0o644}})
	if err == nil {
		t.Fatal("WriteFiles succeeded, want an error")
	}
	after := readTree(t, dir)
	if len(after) != len(before) || after["a.txt"] != "old" {
		t.Errorf("after a failed transaction %v, want %v", after, before)
	}
}
