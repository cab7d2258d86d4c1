package generator

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestRenderRules(t *testing.T) {
	fsys := fstest.MapFS{
		"t/cmd/{{.Name}}/main.go.tmpl":       {Data: []byte("package main\nfunc main(){println( {{printf \"%q\" .Name}} )}\n")},
		"t/.github/ci.yml.tmpl":              {Data: []byte(`{{if eq .CI "github"}}on: push{{end}}`)},
		"t/{{if .Extra}}extra{{end}}/x.tmpl": {Data: []byte("x")},
		"t/run.sh.tmpl":                      {Data: []byte("#!/bin/sh\necho {{.Name | upper}}\n")},
	}
	set, err := ParseTemplates(fsys, "t")
	if err != nil {
		t.Fatal(err)
	}
	type data struct {
		Name, CI string
		Extra    bool
	}
	files, err := set.Render(data{Name: "acme", CI: "none"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]File{}
	var order []string
	for _, f := range files {
		got[f.Path] = f
		order = append(order, f.Path)
	}
	if strings.Join(order, " ") != "cmd/acme/main.go run.sh" {
		t.Fatalf("rendered %q, want cmd/acme/main.go and run.sh only (empty file and empty path segment dropped, sorted)", order)
	}
	if want := "package main\n\nfunc main() { println(\"acme\") }\n"; string(got["cmd/acme/main.go"].Content) != want {
		t.Errorf("main.go not gofmt'ed:\n%s", got["cmd/acme/main.go"].Content)
	}
	if got["run.sh"].Mode != 0o755 || got["cmd/acme/main.go"].Mode != 0o644 {
		t.Errorf("modes: run.sh %v, main.go %v", got["run.sh"].Mode, got["cmd/acme/main.go"].Mode)
	}
	files, err = set.Render(data{Name: "acme", CI: "github", Extra: true})
	if err != nil || len(files) != 4 {
		t.Fatalf("with CI and Extra: %d files, %v", len(files), err)
	}
}

// TestRenderSelectors: a backend choice selects whole files by the
// [key=value] selector in their names; the selector is not in the output.
func TestRenderSelectors(t *testing.T) {
	fsys := fstest.MapFS{
		"t/store[sessions=redis].go.tmpl":            {Data: []byte("package s\n\nconst Store = \"redis\"\n")},
		"t/store[sessions=postgres].go.tmpl":         {Data: []byte("package s\n\nconst Store = \"postgres\"\n")},
		"t/ci/[ci=github]ci.yml.tmpl":                {Data: []byte("lint: true")},
		"t/worker[queue=asynq][sessions=redis].tmpl": {Data: []byte("both")},
		"t/jobs[queue=river|asynq].txt.tmpl":         {Data: []byte("x")},
		"t/always.txt.tmpl":                          {Data: []byte("x")},
	}
	set, err := ParseTemplates(fsys, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		data ProjectData
		want string
	}{
		{ProjectData{CI: "github", Sessions: "redis", Queue: "river"}, "always.txt ci/ci.yml jobs.txt store.go=redis"},
		{ProjectData{CI: "none", Sessions: "postgres", Queue: "asynq"}, "always.txt jobs.txt store.go=postgres"},
		{ProjectData{CI: "none", Sessions: "redis", Queue: "asynq"}, "always.txt jobs.txt store.go=redis worker"},
	} {
		files, err := set.Render(tc.data)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			name := f.Path
			if name == "store.go" {
				name += "=" + strings.Trim(strings.TrimPrefix(strings.TrimSpace(string(f.Content)), "package s\n\nconst Store = "), `"`)
			}
			got = append(got, name)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%+v rendered %q, want %q", tc.data, got, tc.want)
		}
	}
	// Data without backend answers cannot decide a selector.
	if _, err := set.Render(map[string]string{}); err == nil || !strings.Contains(err.Error(), "selector") {
		t.Errorf("Render with data lacking Choice = %v, want an error naming the selector", err)
	}
}

func TestParseTemplatesRefusesBadTrees(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no .tmpl suffix":  {"t/README.md": {Data: []byte("x")}},
		"broken template":  {"t/a.txt.tmpl": {Data: []byte("{{.Name")}},
		"broken path":      {"t/{{.Name/a.tmpl": {Data: []byte("x")}},
		"unknown function": {"t/a.txt.tmpl": {Data: []byte("{{now}}")}},
		"unknown selector": {"t/a[colour=red].txt.tmpl": {Data: []byte("x")}},
		"unknown choice":   {"t/a[queue=kafka].txt.tmpl": {Data: []byte("x")}},
		"bad selector":     {"t/a[queue].txt.tmpl": {Data: []byte("x")}},
	} {
		if _, err := ParseTemplates(fsys, "t"); err == nil {
			t.Errorf("%s: ParseTemplates succeeded, want an error", name)
		}
	}
}

func TestRenderRefusesBadOutput(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"go that does not parse": {"t/a.go.tmpl": {Data: []byte("package {{.Name}}\nfunc (")}},
		"path escapes":           {"t/{{.Name}}/x.tmpl": {Data: []byte("x")}},
		"missing key":            {"t/a.txt.tmpl": {Data: []byte("{{.Nope}}")}},
	} {
		set, err := ParseTemplates(fsys, "t")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := set.Render(map[string]string{"Name": ".."}); err == nil {
			t.Errorf("%s: Render succeeded, want an error", name)
		}
	}
}

func TestNextMigration(t *testing.T) {
	for _, tt := range []struct {
		paths []string
		want  int
	}{
		{nil, 1},
		{[]string{"internal/platform/database/migrations/00001_tenants.sql", "internal/platform/database/migrations/00002_x.sql"}, 3},
		{[]string{"internal/modules/a/migrations/00007_a.sql", "internal/platform/database/migrations/00002_x.sql", "README.md"}, 8},
		{[]string{"migrations/20250101120000_hand.sql", "internal/modules/a/migrations/00003_a.sql"}, 20250101120001},
		{[]string{"internal/modules/a/migrations/00003_a.go", "docs/migrations/notes.sql"}, 1},
	} {
		if got := NextMigration(tt.paths); got != tt.want {
			t.Errorf("NextMigration(%q) = %d, want %d", tt.paths, got, tt.want)
		}
	}
}
