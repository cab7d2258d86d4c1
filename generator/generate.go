package generator

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// GoVersion is the go directive of generated projects.
const GoVersion = "1.26.0"

// Template tree roots inside the templates FS.
const (
	ProjectTree = "project"
	ModuleTree  = "module"
)

// ProjectData is what the project tree's templates see as dot.
type ProjectData struct {
	Name      string
	Module    string
	GoVersion string
	CI        string
	Sessions  string
	Queue     string
	Modules   []Names
}

// Choice returns the value of the backend key (see Backends), for template
// file selectors.
func (d ProjectData) Choice(key string) string {
	a := Answers{CI: d.CI, Sessions: d.Sessions, Queue: d.Queue}
	if b, ok := BackendByKey(key); ok {
		return b.Get(&a)
	}
	return ""
}

// ModuleData is what the module tree's templates see as dot.
type ModuleData struct {
	Project   ProjectData
	Mod       Names
	Migration int // goose version of the module's migration
	// MigrationPrefix is Migration as the file name prefix: zero-padded to
	// five digits, longer when needed (a project with timestamp versions).
	MigrationPrefix string
}

// Choice returns the project's value of the backend key.
func (d ModuleData) Choice(key string) string { return d.Project.Choice(key) }

// Generator renders the embedded template trees. It holds no UI: progress
// goes to Progress, results are returned.
type Generator struct {
	Templates fs.FS  // with project/ and module/ trees
	Version   string // saasgen version recorded in saasgen.yaml
	Progress  Progress

	parseOnce sync.Once
	project   *TemplateSet
	module    *TemplateSet
	parseErr  error
}

// Parse parses both template trees (once). Commands call it at start-up so a
// broken template fails before any question is asked.
func (g *Generator) Parse() error {
	g.parseOnce.Do(func() {
		g.project, g.parseErr = ParseTemplates(g.Templates, ProjectTree)
		if g.parseErr != nil {
			return
		}
		g.module, g.parseErr = ParseTemplates(g.Templates, ModuleTree)
	})
	return g.parseErr
}

func (g *Generator) projectData(a Answers) ProjectData {
	d := ProjectData{Name: a.Name, Module: a.Module, GoVersion: GoVersion, CI: a.CI, Sessions: a.Sessions, Queue: a.Queue}
	for _, m := range a.Modules {
		d.Modules = append(d.Modules, ModuleNames(m))
	}
	return d
}

// Render validates opts and renders the whole project in memory: the project
// tree, one module tree per module (migrations numbered after every
// migration already in the tree) and saasgen.yaml.
func (g *Generator) Render(opts Options) ([]File, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := g.Parse(); err != nil {
		return nil, err
	}
	data := g.projectData(opts.Answers)
	for _, mod := range data.Modules {
		if err := g.CheckModuleNames(mod); err != nil {
			return nil, err
		}
	}
	files, err := g.project.Render(data)
	if err != nil {
		return nil, err
	}
	for _, mod := range data.Modules {
		mfiles, err := g.renderModule(data, mod, files)
		if err != nil {
			return nil, err
		}
		files = mergeFiles(files, mfiles)
	}
	m := Manifest{Schema: ManifestSchema, SaasgenVersion: g.Version, Answers: opts.Answers, Owned: ownedHashes(files)}
	return mergeFiles(files, []File{{Path: ManifestFile, Content: m.Marshal(), Mode: 0o644}}), nil
}

func (g *Generator) renderModule(project ProjectData, mod Names, existing []File) ([]File, error) {
	paths := make([]string, len(existing))
	for i, f := range existing {
		paths[i] = f.Path
	}
	data := newModuleData(project, mod, NextMigration(paths))
	files, err := g.module.Render(data)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", mod.Raw, err)
	}
	return files, nil
}

var migrationRE = regexp.MustCompile(`(^|/)migrations/(\d+)_[^/]*\.sql$`)

func newModuleData(project ProjectData, mod Names, migration int) ModuleData {
	return ModuleData{Project: project, Mod: mod, Migration: migration, MigrationPrefix: fmt.Sprintf("%05d", migration)}
}

// NextMigration returns the goose version after the highest one among paths
// (any */migrations/NNNNN_name.sql file, platform's, modules' and hand-written
// ones alike), so versions never collide.
func NextMigration(paths []string) int {
	highest := 0
	for _, p := range paths {
		if m := migrationRE.FindStringSubmatch(p); m != nil {
			if v, err := strconv.Atoi(m[2]); err == nil && v > highest {
				highest = v
			}
		}
	}
	return highest + 1
}

// mergeFiles adds extra to files, replacing files with the same path, and
// keeps the result sorted.
func mergeFiles(files, extra []File) []File {
	byPath := make(map[string]int, len(files))
	out := append([]File(nil), files...)
	for i, f := range out {
		byPath[f.Path] = i
	}
	for _, f := range extra {
		if i, ok := byPath[f.Path]; ok {
			out[i] = f
			continue
		}
		byPath[f.Path] = len(out)
		out = append(out, f)
	}
	sortFiles(out)
	return out
}

// Result is what `saasgen new` did.
type Result struct {
	Dir    string   `json:"dir"`
	Module string   `json:"module"`
	Files  []string `json:"files"`
	DryRun bool     `json:"dry_run"`
	Commit string   `json:"commit,omitempty"`
	Verify *Report  `json:"verification,omitempty"`
}

// New creates a project: validate, check the target, render in memory, land
// the tree atomically, commit it with go-git, then verify it. Bad input
// returns an *InputError before anything is written; a failed verification
// returns a *VerifyError with the tree (and commit) left in place to fix.
func (g *Generator) New(ctx context.Context, opts Options) (*Result, error) {
	opts.Normalize()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := CheckTarget(opts.Dir, opts.Force); err != nil {
		return nil, err
	}
	if !opts.NoGit && !opts.DryRun {
		if err := CheckExistingRepo(opts.Dir); err != nil {
			return nil, err
		}
	}
	var files []File
	if err := g.Progress.step("render templates", func() (err error) {
		files, err = g.Render(opts)
		return err
	}); err != nil {
		return nil, err
	}
	res := &Result{Dir: opts.Dir, Module: opts.Module, DryRun: opts.DryRun}
	for _, f := range files {
		res.Files = append(res.Files, f.Path)
	}
	if opts.DryRun {
		return res, nil
	}
	if err := CheckOverwrites(opts.Dir, files); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Into a directory that already held files (--force), commit only what
	// saasgen wrote; a fresh tree holds nothing else.
	var commitPaths []string
	if entries, err := os.ReadDir(opts.Dir); err == nil && len(entries) > 0 {
		commitPaths = res.Files
	}
	if err := g.Progress.step("write "+opts.Dir, func() error { return WriteNew(files, opts.Dir) }); err != nil {
		return nil, err
	}
	if !opts.NoGit {
		if err := g.Progress.step("git init and first commit", func() (err error) {
			res.Commit, err = GitInit(opts.Dir, fmt.Sprintf("Generate %s with saasgen %s", opts.Name, g.Version), commitPaths)
			return err
		}); err != nil {
			return res, err
		}
	}
	if opts.SkipVerify {
		return res, nil
	}
	rep, err := Verify(ctx, opts.Dir, g.Progress)
	res.Verify = rep
	return res, err
}

func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}
