package generator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/saasgen/saasgen/generator/history"
)

// A template revision is one released template tree (see package history).
// saasgen.yaml records the revision a project was last rendered with, so
// that upgrade can render the project's base: its recorded answers with
// those templates. Old trees are rendered by the current renderer with the
// data they used then (ProjectData keeps every field they read).

// templateRevision is a parsed revision.
type templateRevision struct {
	history.Revision
	project, module *TemplateSet
	// keys are the module tree's migration keys, in the order they are
	// allocated versions (see migrationKeys).
	keys []string
}

// revisions caches the parsed revisions of a Generator.
type revisions struct {
	mu      sync.Mutex
	parsed  map[string]*templateRevision
	current string // id of the Generator's own templates
}

// CurrentRevision returns the id of the Generator's template tree.
func (g *Generator) CurrentRevision() (string, error) {
	if err := g.Parse(); err != nil {
		return "", err
	}
	return g.revs.current, nil
}

// history returns the template history compiled into the binary.
func (g *Generator) history() (*history.Store, error) {
	if g.History != nil {
		return g.History, nil
	}
	return history.Embedded()
}

// revision returns the parsed template revision id: the Generator's own
// templates, or a tree from the history.
func (g *Generator) revision(id string) (*templateRevision, error) {
	if err := g.Parse(); err != nil {
		return nil, err
	}
	g.revs.mu.Lock()
	defer g.revs.mu.Unlock()
	if r, ok := g.revs.parsed[id]; ok {
		return r, nil
	}
	st, err := g.history()
	if err != nil {
		return nil, err
	}
	rev, ok := st.Lookup(id)
	if !ok {
		return nil, &UnknownRevisionError{ID: id}
	}
	tree, err := st.Tree(id)
	if err != nil {
		return nil, err
	}
	r := &templateRevision{Revision: rev}
	if r.project, err = ParseTemplates(tree, ProjectTree); err != nil {
		return nil, fmt.Errorf("template revision %s: %w", id, err)
	}
	if r.module, err = ParseTemplates(tree, ModuleTree); err != nil {
		return nil, fmt.Errorf("template revision %s: %w", id, err)
	}
	if r.keys, err = migrationKeys(st, id, r.module); err != nil {
		return nil, err
	}
	g.revs.parsed[id] = r
	return r, nil
}

// UnknownRevisionError is a recorded template revision this saasgen does not
// carry.
type UnknownRevisionError struct{ ID string }

func (e *UnknownRevisionError) Error() string {
	return fmt.Sprintf("template revision %s is not in this saasgen's template history", e.ID)
}

// legacyRevision returns the revision of a project whose saasgen.yaml
// records none.
func (g *Generator) legacyRevision() (string, error) {
	st, err := g.history()
	if err != nil {
		return "", err
	}
	rev, ok := st.Legacy()
	if !ok {
		return "", errors.New("the template history has no legacy revision")
	}
	return rev.ID, nil
}

// Module migration templates name their version in their file name:
// {{.Versions.KEY}}_what.sql.tmpl, or {{.MigrationPrefix}} (the key
// "create", the one migration of the trees before keys).
var (
	migrationKeyRE    = regexp.MustCompile(`\{\{\s*\.Versions\.([a-z0-9_]+)\s*\}\}`)
	migrationPrefixRE = regexp.MustCompile(`\{\{\s*\.MigrationPrefix\s*\}\}`)
)

// keysOfPaths returns the migration keys the template paths name.
func keysOfPaths(paths []string) []string {
	var keys []string
	for _, p := range paths {
		if migrationPrefixRE.MatchString(p) && !slices.Contains(keys, "create") {
			keys = append(keys, "create")
		}
		for _, m := range migrationKeyRE.FindAllStringSubmatch(p, -1) {
			if !slices.Contains(keys, m[1]) {
				keys = append(keys, m[1])
			}
		}
	}
	return keys
}

// migrationKeys returns the migration keys the set's file names use, in
// the order of its files.
func (s *TemplateSet) migrationKeys() []string {
	srcs := make([]string, len(s.files))
	for i, t := range s.files {
		srcs[i] = t.src
	}
	return keysOfPaths(srcs)
}

// migrationKeys returns the migration keys of the module tree of revision
// id, ordered by the revision of the history that introduced each (then by
// name), so that a project generated today and one generated earlier and
// upgraded allocate the same keys in the same order.
func migrationKeys(st *history.Store, id string, module *TemplateSet) ([]string, error) {
	keys := module.migrationKeys()
	born := map[string]int{}
	for i, rev := range st.Revisions() {
		m, err := st.Manifest(rev.ID)
		if err != nil {
			return nil, err
		}
		for _, k := range keysOfPaths(slices.Collect(maps.Keys(m))) {
			if _, ok := born[k]; !ok {
				born[k] = i
			}
		}
		if rev.ID == id {
			break
		}
	}
	slices.SortStableFunc(keys, func(a, b string) int {
		ba, oka := born[a]
		bb, okb := born[b]
		switch {
		case !oka:
			ba = len(st.Revisions())
		case !okb:
			bb = len(st.Revisions())
		}
		if ba != bb {
			return ba - bb
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return keys, nil
}

// Allocations are the goose versions of each module's migrations: module
// (as recorded) → migration key → version. saasgen.yaml records them; each
// is allocated once, when the module is added or when an upgrade brings a
// new migration template, and never changes.
type Allocations map[string]map[string]int

// clone returns a deep copy of a.
func (a Allocations) clone() Allocations {
	out := make(Allocations, len(a))
	for m, v := range a {
		out[m] = maps.Clone(v)
	}
	return out
}

// highest returns the highest version allocated.
func (a Allocations) highest() int {
	h := 0
	for _, v := range a {
		for _, n := range v {
			h = max(h, n)
		}
	}
	return h
}

// allocate gives every key of every module that has no version the next
// free one, at least next, module by module in order, keys in order. It
// returns the allocations (a copy) and whether any was added.
func (a Allocations) allocate(modules, keys []string, next int) (Allocations, bool) {
	out := a.clone()
	next = max(next, out.highest()+1)
	added := false
	for _, m := range modules {
		if out[m] == nil {
			out[m] = map[string]int{}
		}
		for _, k := range keys {
			if _, ok := out[m][k]; !ok {
				out[m][k] = next
				next++
				added = true
			}
		}
	}
	return out, added
}

// legacyAllocations derives the versions of the modules of a project
// generated before saasgen.yaml recorded them: the version of the module's
// create migration in the tree, or where the module has none there, the one
// the legacy templates gave it (modules numbered after the platform's one
// migration, in order).
func legacyAllocations(root string, modules []string) Allocations {
	a := Allocations{}
	for i, raw := range modules {
		n := ModuleNames(raw)
		v := 2 + i
		dir := filepath.Join(root, "internal", "modules", n.Package, "migrations")
		if entries, err := os.ReadDir(dir); err == nil {
			for _, e := range entries {
				if m := legacyCreateRE.FindStringSubmatch(e.Name()); m != nil && m[2] == n.Table {
					v, _ = strconv.Atoi(m[1])
				}
			}
		}
		a[raw] = map[string]int{"create": v}
	}
	return a
}

var legacyCreateRE = regexp.MustCompile(`^(\d+)_create_([a-z0-9_]+)\.sql$`)

// renderRevision renders answers a with revision rev: the project tree and
// one module tree per module with its allocated migration versions (alloc
// must hold a version for every key of rev). saasgen.yaml is not among the
// files.
func (g *Generator) renderRevision(ctx context.Context, rev *templateRevision, a Answers, alloc Allocations) ([]File, error) {
	data := projectData(a)
	data.GoVersion = rev.GoVersion
	files, err := rev.project.Render(data)
	if err != nil {
		return nil, err
	}
	mfiles, err := renderModules(ctx, rev.module, data, alloc)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		seen[f.Path] = true
	}
	for i, mf := range mfiles {
		for _, f := range mf {
			if seen[f.Path] {
				return nil, fmt.Errorf("module %s renders %s, which another tree renders too", data.Modules[i].Raw, f.Path)
			}
			seen[f.Path] = true
		}
		files = append(files, mf...)
	}
	sortFiles(files)
	return files, nil
}

// projectRevision returns the template revision the project of man was
// last rendered with: the one it records, the legacy revision when it
// records none, or when this saasgen does not carry it, the current
// templates (add module then renders the module with them).
func (g *Generator) projectRevision(man *Manifest) (*templateRevision, error) {
	id := man.Templates
	if id == "" {
		legacy, err := g.legacyRevision()
		if err != nil {
			return nil, err
		}
		id = legacy
	}
	rev, err := g.revision(id)
	var unknown *UnknownRevisionError
	if errors.As(err, &unknown) {
		return g.revision(g.revs.current)
	}
	return rev, err
}

// recordedAllocations returns the migration versions saasgen.yaml records,
// or for a manifest written before it recorded them, the ones derived from
// the tree (see legacyAllocations).
func recordedAllocations(root string, man *Manifest) Allocations {
	if man.Migrations != nil {
		return man.Migrations
	}
	return legacyAllocations(root, man.Modules)
}
