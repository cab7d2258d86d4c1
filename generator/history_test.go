package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saasgen/saasgen/generator/history"
	"github.com/saasgen/saasgen/templates"
)

// LegacyCommit is the saasgen commit whose templates are the legacy revision:
// the base of projects whose saasgen.yaml records no revision.
const LegacyCommit = "75103d3"

// TestTemplateHistory pins that the current template tree is a revision of
// the embedded history, and that every released revision is intact (its
// tree hashes to its id, its blobs to their names). Landing a template
// change is one command:
//
//	SAASGEN_UPDATE=land go test ./generator -run TestTemplateHistory
//
// It adds the current tree as the newest revision (and fails on purpose, so
// that the test runs again against the rebuilt store). With
// SAASGEN_LAND_LEGACY=1 it imports the templates of LegacyCommit from git
// as the legacy revision instead (done once, when the history began).
func TestTemplateHistory(t *testing.T) {
	if os.Getenv("SAASGEN_UPDATE") == "land" {
		landRevision(t)
	}
	st, err := history.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	files, err := history.ReadTree(templates.FS, ProjectTree, ModuleTree)
	if err != nil {
		t.Fatal(err)
	}
	id := history.TreeID(files)
	if _, ok := st.Lookup(id); !ok {
		t.Fatalf("the current templates (revision %s) are not in the template history; land them with\n\tSAASGEN_UPDATE=land go test ./generator -run TestTemplateHistory", id)
	}
	if _, ok := st.Legacy(); !ok {
		t.Fatal("the template history has no legacy revision")
	}
	for _, r := range st.Revisions() {
		if _, err := st.Tree(r.ID); err != nil {
			t.Errorf("revision %s: %v", r.ID, err)
		}
	}
}

func landRevision(t *testing.T) {
	rev := history.Revision{GoVersion: GoVersion}
	var files map[string][]byte
	var err error
	if os.Getenv("SAASGEN_LAND_LEGACY") != "" {
		dir := t.TempDir()
		out, err := exec.Command("sh", "-c", "git -C .. archive "+LegacyCommit+" templates | tar -x -C "+dir).CombinedOutput()
		if err != nil {
			t.Fatalf("extracting the templates of %s: %v\n%s", LegacyCommit, err, out)
		}
		files, err = history.ReadTree(os.DirFS(filepath.Join(dir, "templates")), ProjectTree, ModuleTree)
		if err != nil {
			t.Fatal(err)
		}
		rev.Commit, rev.Legacy, rev.GoVersion = LegacyCommit, true, "1.26.0"
	} else if files, err = history.ReadTree(templates.FS, ProjectTree, ModuleTree); err != nil {
		t.Fatal(err)
	}
	id, added, err := history.Land(filepath.Join("history", history.StoreDir), files, rev)
	if err != nil {
		t.Fatal(err)
	}
	if added {
		t.Fatalf("landed template revision %s; run the test again without SAASGEN_UPDATE", id)
	}
	t.Logf("template revision %s is in the history already", id)
}

// TestMigrationTemplatesAppendOnly pins that no released migration template
// changes or goes: a project's database has applied it, and goose never
// applies a changed migration again. A change to the schema is a new
// migration template (the platform's: the next version in its directory;
// a module's: a new key, {{.Versions.key}}, allocated when a project gets
// it).
func TestMigrationTemplatesAppendOnly(t *testing.T) {
	st, err := history.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	current, err := history.ReadTree(templates.FS, ProjectTree, ModuleTree)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, rev := range st.Revisions() {
		tree, err := st.Manifest(rev.ID)
		if err != nil {
			t.Fatal(err)
		}
		for p, hash := range tree {
			if !strings.Contains(p, "/migrations/") {
				continue
			}
			checked++
			switch data, ok := current[p]; {
			case !ok:
				t.Errorf("%s, released in template revision %s, is gone: a migration is never removed or renamed", p, rev.ID)
			case history.Hash(data) != hash:
				t.Errorf("%s changed since template revision %s: databases have applied it; restore it and put the change in a new migration", p, rev.ID)
			}
		}
	}
	if checked == 0 {
		t.Fatal("the history has no migration templates")
	}
}
