package generator

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"fmt"
	"go/format"
	"slices"
	"strings"
)

// go/format costs far more than executing the templates (60 ms of CPU
// against 3 for the full example), and for most Go templates it changes
// nothing: their source is laid out as gofmt lays it out, and what the
// answers put into them (names, paths) moves no column gofmt aligns. Which
// templates are such is a function of the template trees alone, so it is
// found once, when the templates change, and shipped like the module-name
// index (clashindex.go): formatindex.json lists the gofmt-clean templates of
// the embedded trees with the digest of their sources (treesDigest). Their
// output is not formatted; every other Go file is, and so is every Go file
// of trees with another digest (a test's, a fork's, an older revision's).
//
// A template is gofmt-clean when its output is unchanged by go/format for
// every probe of formatProbes under every combination of the backend
// answers. The probes put names of very different lengths (1 to 40
// characters, the longest a name may be) and module paths that sort before
// and after every import into the code: gofmt's alignment of struct fields,
// composite literals, trailing comments and constants depends on the
// lengths of the names in a section, whether it keeps a function on one
// line on the length of its header, and its import order on the paths.
// TestFormatIndexHoldsForAnyAnswers renders random answers and fails when a
// listed template's output is not gofmt-clean; TestGoldenFormatIndex fails
// when the shipped file is not what buildFormatIndex computes now.
//
//go:embed formatindex.json
var shippedFormatIndex []byte

// FormatIndexFile is the name of the shipped format index, in this
// package's directory.
const FormatIndexFile = "formatindex.json"

// formatIndexRecord is the stored form of the format index.
type formatIndexRecord struct {
	// Templates is the digest of the trees it was built from (treesDigest).
	Templates string `json:"templates_sha256"`
	// GofmtClean are the Go templates whose output is not formatted.
	GofmtClean []string `json:"gofmt_clean"`
	// Formatted are the other Go templates, each with the first probe
	// whose output go/format changed (or could not parse): what to fix to
	// make it gofmt-clean.
	Formatted map[string]string `json:"formatted"`
}

// formatProbe is one set of answers the format index renders: a project
// name, a module path and module names.
type formatProbe struct {
	name, module string
	modules      []string
}

// formatProbes put names of 1, 8, 30 and 40 characters into every name
// form, module lists in no particular order (gofmt sorts imports), none and
// one module, and module paths of 1 to 90 characters sorting before and
// after the standard library and every third-party path.
var formatProbes = []formatProbe{
	{name: "a", module: "a"},
	{name: "a", module: "a", modules: []string{"b"}},
	{name: "acmecorp", module: "github.com/acmecorp/acmecorp", modules: []string{"projects", "order_items", "billing", "companies"}},
	{name: strings.Repeat("n", 30), module: "example.com/" + strings.Repeat("p", 30), modules: []string{strings.Repeat("q", 30), "x", "status_items"}},
	{
		name:    "z" + strings.Repeat("-zz", 13),
		module:  "zz.example/" + strings.Repeat("long/", 15) + "path",
		modules: []string{"zz" + strings.Repeat("_zzz", 9) + "s", "ab", strings.Repeat("y", 40), "access_keys"},
	},
	{name: strings.Repeat("k", 40), module: "A.example/" + strings.Repeat("k", 40), modules: []string{"a" + strings.Repeat("_aa", 13), "m"}},
}

// backendCombinations returns every combination of the backends' choices.
func backendCombinations() []Answers {
	combos := []Answers{{}}
	for _, b := range Backends {
		var next []Answers
		for _, a := range combos {
			for _, c := range b.Choices {
				b.Set(&a, c.Value)
				next = append(next, a)
			}
		}
		combos = next
	}
	return combos
}

// buildFormatIndex renders both trees for every probe under every backend
// combination without formatting, and sorts the Go templates into those
// whose output go/format never changed and the others.
func buildFormatIndex(project, module *TemplateSet) (*formatIndexRecord, error) {
	rec := &formatIndexRecord{Templates: treesDigest(project, module), Formatted: map[string]string{}}
	seen := map[string]bool{}               // Go templates rendered
	checked := map[[sha256.Size]byte]bool{} // outputs already found clean
	check := func(probe string, out []rendered) {
		for _, r := range out {
			if !strings.HasSuffix(r.Path, ".go") {
				continue
			}
			seen[r.src] = true
			if _, bad := rec.Formatted[r.src]; bad {
				continue
			}
			sum := sha256.Sum256(r.Content)
			if checked[sum] {
				continue
			}
			formatted, err := format.Source(r.Content)
			switch {
			case err != nil:
				rec.Formatted[r.src] = fmt.Sprintf("%s: %s does not parse: %v", probe, r.Path, err)
			case !bytes.Equal(formatted, r.Content):
				rec.Formatted[r.src] = fmt.Sprintf("%s: go/format changes %s at line %d", probe, r.Path, firstDiffLine(r.Content, formatted))
			default:
				checked[sum] = true
			}
		}
	}
	for _, p := range formatProbes {
		for _, a := range backendCombinations() {
			a.Name, a.Module, a.Modules = p.name, p.module, p.modules
			desc := fmt.Sprintf("project %s, module %s, modules %v, ci %s, sessions %s, queue %s", a.Name, a.Module, a.Modules, a.CI, a.Sessions, a.Queue)
			pd := projectData(a)
			out, err := project.render(pd, formatNone)
			if err != nil {
				return nil, fmt.Errorf("format index: %s: %w", desc, err)
			}
			check(desc, out)
			alloc, _ := Allocations(nil).allocate(a.Modules, module.migrationKeys(), 1)
			for _, mod := range pd.Modules {
				out, err := module.render(newModuleData(pd, mod, alloc[mod.Raw]), formatNone)
				if err != nil {
					return nil, fmt.Errorf("format index: %s: module %s: %w", desc, mod.Raw, err)
				}
				check(desc, out)
			}
		}
	}
	for src := range seen {
		if _, bad := rec.Formatted[src]; !bad {
			rec.GofmtClean = append(rec.GofmtClean, src)
		}
	}
	slices.Sort(rec.GofmtClean)
	return rec, nil
}

// firstDiffLine returns the 1-based line of a where a and b first differ.
func firstDiffLine(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return bytes.Count(a[:n], []byte("\n")) + 1
}

// marshal encodes the index as formatindex.json holds it (see
// marshalShipped).
func (rec *formatIndexRecord) marshal() ([]byte, error) { return marshalShipped(rec) }

// markGofmtClean marks the templates of project and module that the format
// index data lists as gofmt-clean, when it was built from these trees; it
// marks none otherwise (no index, another digest, a name it does not know).
// It returns how many it marked.
func markGofmtClean(data []byte, project, module *TemplateSet) (int, error) {
	if len(data) == 0 {
		return 0, nil
	}
	var rec formatIndexRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return 0, fmt.Errorf("%s: %w", FormatIndexFile, err)
	}
	if rec.Templates != treesDigest(project, module) {
		return 0, nil
	}
	clean := make(map[string]bool, len(rec.GofmtClean))
	for _, src := range rec.GofmtClean {
		clean[src] = true
	}
	marked := 0
	for _, s := range []*TemplateSet{project, module} {
		for i := range s.files {
			if clean[s.files[i].src] {
				s.files[i].gofmtClean = true
				marked++
			}
		}
	}
	return marked, nil
}
