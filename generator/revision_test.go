package generator

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saasgen/saasgen/generator/history"
	"github.com/saasgen/saasgen/templates"
	"go.yaml.in/yaml/v3"
)

// TestLegacyRevisionRendersAsLegacySaasgen pins that the legacy revision,
// rendered by this saasgen, is byte for byte what saasgen at LegacyCommit
// generated: testdata/legacy holds, for four projects that saasgen made
// (saasgen new --no-git --skip-verify, built at LegacyCommit), their
// saasgen.yaml and the SHA-256 of every other file.
func TestLegacyRevisionRendersAsLegacySaasgen(t *testing.T) {
	g := &Generator{Templates: templates.FS, Version: "dev"}
	id, err := g.legacyRevision()
	if err != nil {
		t.Fatal(err)
	}
	rev, err := g.revision(id)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Commit != LegacyCommit {
		t.Fatalf("the legacy revision is from %s, want %s", rev.Commit, LegacyCommit)
	}
	lists, _ := filepath.Glob("testdata/legacy/*.sha256")
	if len(lists) == 0 {
		t.Fatal("no legacy fixtures")
	}
	for _, list := range lists {
		name := strings.TrimSuffix(filepath.Base(list), ".sha256")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/legacy", name+".saasgen.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var man Manifest
			if err := yaml.Unmarshal(data, &man); err != nil {
				t.Fatal(err)
			}
			if man.Schema != 1 || man.Templates != "" {
				t.Fatalf("fixture %s is not a legacy manifest", name)
			}
			files, err := g.renderRevision(context.Background(), rev, man.Answers, legacyAllocations(t.TempDir(), man.Modules))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range files {
				got[f.Path] = history.Hash(f.Content)
			}
			want := readSums(t, list)
			for p, h := range want {
				switch g, ok := got[p]; {
				case !ok:
					t.Errorf("%s: saasgen %s generated it, the legacy revision does not render it", p, LegacyCommit)
				case g != h:
					t.Errorf("%s: renders differently from saasgen %s", p, LegacyCommit)
				}
			}
			for p := range got {
				if _, ok := want[p]; !ok {
					t.Errorf("%s: rendered, but saasgen %s did not generate it", p, LegacyCommit)
				}
			}
		})
	}
}

func readSums(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var h, p string
		if _, err := fmt.Sscanf(sc.Text(), "%s %s", &h, &p); err != nil {
			t.Fatalf("%s: %q: %v", name, sc.Text(), err)
		}
		out[p] = h
	}
	return out
}
