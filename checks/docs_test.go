package checks_test

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	codeSpan = regexp.MustCompile("`([^`\n]+)`")
	mdLink   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// A project path: slash-separated names, optionally ending in a slash.
	pathLike = regexp.MustCompile(`^\.?[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*/?$`)
	// Extensions that make a single name without a slash a file reference.
	fileExt = regexp.MustCompile(`\.(go|sql|ya?ml|json|md|mod|sum|ini|txt|example|env)$`)
)

// docPaths returns the project paths a Markdown document mentions: code
// spans that look like paths (relative to the project root) and relative
// link targets (relative to the document). Placeholders such as
// internal/modules/<name>/ are not paths and are left out.
func docPaths(doc, src string) []string {
	var paths []string
	for _, m := range codeSpan.FindAllStringSubmatch(src, -1) {
		s := m[1]
		if !pathLike.MatchString(s) || strings.Contains(s, "..") {
			continue
		}
		if strings.Contains(s, "/") || fileExt.MatchString(s) {
			paths = append(paths, s)
		}
	}
	return append(paths, docLinks(doc, src)...)
}

// docLinks returns the relative link targets of a Markdown document, as
// paths from the project root.
func docLinks(doc, src string) []string {
	var paths []string
	for _, m := range mdLink.FindAllStringSubmatch(src, -1) {
		target, _, _ := strings.Cut(m[1], "#")
		if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		paths = append(paths, path.Join(path.Dir(doc), target))
	}
	return paths
}

// TestDocumentedPathsExist checks every file and directory that the
// architecture document and the decision records name, and every relative
// link of the README, exists in the generated project, for every example.
// Files the project tells its users to create, which its .gitignore keeps
// out of the repository (.env), are not expected.
func TestDocumentedPathsExist(t *testing.T) {
	for _, p := range projects(t) {
		t.Run(p.name, func(t *testing.T) {
			adrs, err := filepath.Glob(p.path("docs/adr/*.md"))
			if err != nil || len(adrs) < 8 {
				t.Fatalf("docs/adr has %d records: %v", len(adrs), err)
			}
			refs := map[string][]string{} // path -> documents naming it
			add := func(doc string, paths []string) {
				for _, ref := range paths {
					if !slices.Contains(refs[ref], doc) {
						refs[ref] = append(refs[ref], doc)
					}
				}
			}
			for _, doc := range append([]string{"docs/architecture.md"}, docNames(adrs)...) {
				add(doc, docPaths(doc, string(p.read(t, doc))))
			}
			add("README.md", docLinks("README.md", string(p.read(t, "README.md"))))
			ignored := gitignored(t, p)
			for _, ref := range sortedKeys(toSet(refs)) {
				if ignored[strings.Trim(ref, "/")] {
					continue
				}
				if _, err := os.Stat(p.path(strings.TrimSuffix(ref, "/"))); err != nil {
					t.Errorf("%s, named in %s, is not in the generated project", ref, strings.Join(refs[ref], ", "))
				}
			}
		})
	}
}

func docNames(paths []string) []string {
	names := make([]string, len(paths))
	for i, a := range paths {
		names[i] = "docs/adr/" + filepath.Base(a)
	}
	return names
}

// gitignored returns the plain names the project's .gitignore lists.
func gitignored(t *testing.T, p project) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, line := range strings.Split(string(p.read(t, ".gitignore")), "\n") {
		if line = strings.Trim(strings.TrimSpace(line), "/"); line != "" && !strings.ContainsAny(line, "*?[!#") {
			names[line] = true
		}
	}
	return names
}

func toSet(m map[string][]string) map[string]bool {
	s := map[string]bool{}
	for k := range m {
		s[k] = true
	}
	return s
}

// TestDocPaths pins what counts as a path in a document.
func TestDocPaths(t *testing.T) {
	src := "See `internal/platform/tenancy/tx.go`, `deploy/`, `.golangci.yml`, `go.mod`, " +
		"`internal/modules/<name>/`, `app.tenant_id`, `/livez`, `127.0.0.1:5432`, `make dev`, " +
		"`https://x/y`, [adr](adr/README.md#top) and [web](https://example.com)."
	got := strings.Join(docPaths("docs/architecture.md", src), " ")
	want := "internal/platform/tenancy/tx.go deploy/ .golangci.yml go.mod docs/adr/README.md"
	if got != want {
		t.Errorf("docPaths = %q, want %q", got, want)
	}
}
