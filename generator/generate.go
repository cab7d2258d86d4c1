package generator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/saasgen/saasgen/generator/history"
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
	Project ProjectData
	Mod     Names
	// Versions are the goose versions of the module's migrations by key
	// (see Allocations), as file name prefixes: zero-padded to five digits,
	// longer when needed. A migration template names its file with
	// {{.Versions.key}}.
	Versions map[string]string
	// Migration and MigrationPrefix are the version of the create migration,
	// as a number and as the file name prefix: its template has named its
	// file with {{.MigrationPrefix}} since before migration keys.
	Migration       int
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
	// History is the template history upgrade renders bases from; nil is
	// the one compiled into the binary.
	History *history.Store

	parseOnce sync.Once
	revs      revisions
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
		if g.module, g.parseErr = ParseTemplates(g.Templates, ModuleTree); g.parseErr != nil {
			return
		}
		if _, g.parseErr = markGofmtClean(shippedFormatIndex, g.project, g.module); g.parseErr != nil {
			return
		}
		g.parseErr = g.parseCurrent()
	})
	return g.parseErr
}

// parseCurrent registers the Generator's own templates as a revision.
func (g *Generator) parseCurrent() error {
	tree, err := history.ReadTree(g.Templates, ProjectTree, ModuleTree)
	if err != nil {
		return err
	}
	st, err := g.history()
	if err != nil {
		return err
	}
	cur := &templateRevision{Revision: history.Revision{ID: history.TreeID(tree), GoVersion: GoVersion}, project: g.project, module: g.module}
	if cur.keys, err = migrationKeys(st, cur.ID, g.module); err != nil {
		return err
	}
	g.revs.current = cur.ID
	g.revs.parsed = map[string]*templateRevision{cur.ID: cur}
	return nil
}

// projectData is what the project templates render for the answers a.
func projectData(a Answers) ProjectData {
	d := ProjectData{Name: a.Name, Module: a.Module, GoVersion: GoVersion, CI: a.CI, Sessions: a.Sessions, Queue: a.Queue}
	for _, m := range a.Modules {
		d.Modules = append(d.Modules, ModuleNames(m))
	}
	return d
}

// Render validates and normalizes opts (see Validate) and renders the whole
// project in memory: the project tree, one module tree per module
// (migrations numbered after every migration already in the tree) and
// saasgen.yaml.
func (g *Generator) Render(opts Options) ([]File, error) {
	return g.RenderContext(context.Background(), opts)
}

// RenderContext is Render, stopping with ctx's error when ctx is cancelled.
// Its cost is linear in the number of modules.
func (g *Generator) RenderContext(ctx context.Context, opts Options) ([]File, error) {
	opts, err := g.Validate(opts)
	if err != nil {
		return nil, err
	}
	return g.render(ctx, opts)
}

// render renders validated options: with the current templates, or with
// the revision opts.Revision names.
func (g *Generator) render(ctx context.Context, opts Options) ([]File, error) {
	if err := g.Parse(); err != nil {
		return nil, err
	}
	id := opts.Revision
	if id == "" {
		id = g.revs.current
	}
	rev, err := g.revision(id)
	var unknown *UnknownRevisionError
	if errors.As(err, &unknown) {
		return nil, invalid("template revision", id, "is not in this saasgen's template history")
	}
	if err != nil {
		return nil, err
	}
	alloc, err := g.newAllocations(rev, opts.Answers)
	if err != nil {
		return nil, err
	}
	files, err := g.renderRevision(ctx, rev, opts.Answers, alloc)
	if err != nil {
		return nil, err
	}
	m := Manifest{Schema: ManifestSchema, SaasgenVersion: g.Version, Templates: rev.ID, Answers: opts.Answers, Migrations: alloc, Owned: ownedHashes(files)}
	files = append(files, File{Path: ManifestFile, Content: m.Marshal(), Mode: 0o644})
	sortFiles(files)
	return files, nil
}

// newAllocations allocates the migration versions of a new project's
// modules: the module sequence from 1 (the platform has its own), or for
// the legacy revision as saasgen numbered them then.
func (g *Generator) newAllocations(rev *templateRevision, a Answers) (Allocations, error) {
	if rev.Legacy {
		return legacyAllocations("", a.Modules), nil
	}
	alloc, _ := Allocations(nil).allocate(a.Modules, rev.keys, 1)
	return alloc, nil
}

// renderModules renders the module tree set for every module of data, in
// parallel (each module costs the same), with the migration versions alloc
// records for it. It stops at ctx's cancellation.
func renderModules(ctx context.Context, set *TemplateSet, data ProjectData, alloc Allocations) ([][]File, error) {
	out := make([][]File, len(data.Modules))
	errs := make([]error, len(data.Modules))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(data.Modules)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(data.Modules); i = int(next.Add(1) - 1) {
				if errs[i] = ctx.Err(); errs[i] != nil {
					return
				}
				mod := data.Modules[i]
				files, err := set.Render(newModuleData(data, mod, alloc[mod.Raw]))
				if err != nil {
					errs[i] = fmt.Errorf("module %s: %w", mod.Raw, err)
				}
				out[i] = files
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

var migrationRE = regexp.MustCompile(`(^|/)migrations/(\d+)_[^/]*\.sql$`)

func newModuleData(project ProjectData, mod Names, versions map[string]int) ModuleData {
	prefixes := make(map[string]string, len(versions))
	for k, v := range versions {
		prefixes[k] = fmt.Sprintf("%05d", v)
	}
	create := versions["create"]
	return ModuleData{Project: project, Mod: mod, Versions: prefixes, Migration: create, MigrationPrefix: fmt.Sprintf("%05d", create)}
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

// PlatformMigrationDir holds the platform's migrations, a goose sequence of
// their own; every other migrations directory is the modules' sequence.
const PlatformMigrationDir = "internal/platform/database/migrations"

// nextModuleMigration is NextMigration of the modules' sequence: the paths
// outside the platform's migrations.
func nextModuleMigration(paths []string) int {
	var mods []string
	for _, p := range paths {
		if !strings.HasPrefix(p, PlatformMigrationDir+"/") {
			mods = append(mods, p)
		}
	}
	return NextMigration(mods)
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
	// Notes says what was found and cleaned up from interrupted runs.
	Notes []string `json:"notes,omitempty"`
}

// newRun is the state of the new pipeline.
type newRun struct {
	tree
	opts Options
	res  *Result
	// commitPaths are the files to commit into a directory that already
	// held files (--force); nil commits the whole fresh tree.
	commitPaths []string
	landed      bool // the files are in place: the result is returned with any later error
}

// New creates a project. Bad input returns an *InputError before anything is
// written; a failed verification returns a *VerifyError with the tree (and
// commit) left in place to fix; the result is nil until the tree is written.
func (g *Generator) New(ctx context.Context, opts Options) (*Result, error) {
	r := &newRun{tree: tree{g: g, progress: g.Progress}, opts: opts}
	err := runSteps(ctx, g.Progress, r, []step[newRun]{
		{run: (*newRun).validate},    // raw answers → options (Validate)
		{run: (*newRun).checkTarget}, // the target may be written, before rendering
		{name: named[newRun]("render templates"), progress: true, run: (*newRun).render}, // the whole tree in memory
		{run: (*newRun).dryRun},          // --dry-run stops here
		{run: (*newRun).open},            // lock the target, or stage a new tree beside it
		{run: (*newRun).checkOverwrites}, // nothing in the way, no symlink out of the tree
		{name: func(r *newRun) string { return "write " + r.opts.Dir }, progress: true, run: (*newRun).write},
		{name: named[newRun]("git init and first commit"), progress: true, skip: func(r *newRun) bool { return r.opts.NoGit }, run: (*newRun).gitCommit},
		{run: (*newRun).publish}, // one rename of the staged tree, or the transaction's commit
		{run: (*newRun).verify},  // go build, vet, test
	})
	if r.res != nil {
		r.res.Notes = r.notes
	}
	err = errors.Join(err, r.close())
	if err != nil && !r.landed {
		return nil, err
	}
	return r.res, err
}

func (r *newRun) validate(context.Context) error {
	opts, err := r.g.Validate(r.opts)
	if err != nil {
		return err
	}
	r.opts = opts
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return err
	}
	r.root = abs
	return nil
}

func (r *newRun) checkTarget(context.Context) error {
	if err := CheckTarget(r.opts.Dir, r.opts.Force); err != nil {
		return err
	}
	if r.opts.NoGit || r.opts.DryRun {
		return nil
	}
	if err := checkGitLink(r.root); err != nil {
		return err
	}
	return CheckExistingRepo(r.opts.Dir)
}

func (r *newRun) render(ctx context.Context) error {
	files, err := r.g.render(ctx, r.opts)
	if err != nil {
		return err
	}
	r.files = files
	r.res = &Result{Dir: r.opts.Dir, Module: r.opts.Module, DryRun: r.opts.DryRun}
	for _, f := range files {
		r.res.Files = append(r.res.Files, f.Path)
	}
	return nil
}

func (r *newRun) dryRun(context.Context) error {
	if r.opts.DryRun {
		return errStop
	}
	return nil
}

// checkOverwrites runs under the lock: the target is what it will be while
// the files are written.
func (r *newRun) checkOverwrites(context.Context) error {
	if r.stage != nil {
		return nil
	}
	// Into a directory that already held files (--force), commit only what
	// saasgen wrote; a fresh or empty tree holds nothing else.
	if entries, err := os.ReadDir(r.root); err == nil && !isEmptyTarget(entries) {
		r.commitPaths = r.res.Files
	}
	return CheckOverwrites(r.root, r.files)
}

// write lands the files; in an existing directory the transaction commits
// at once (the files are the project from now on).
func (r *newRun) write(ctx context.Context) error {
	if err := r.tree.write(ctx); err != nil {
		return err
	}
	if r.tx != nil {
		if err := r.tree.publish(ctx); err != nil {
			return err
		}
		r.landed = true
	}
	return nil
}

// gitCommit makes the first commit: inside the staging directory for a new
// tree, so the tree appears with its history or not at all.
func (r *newRun) gitCommit(context.Context) error {
	var err error
	r.res.Commit, err = GitInit(r.gitDir(), fmt.Sprintf("Generate %s with saasgen %s", r.opts.Name, r.g.Version), r.commitPaths)
	return err
}

func (r *newRun) publish(ctx context.Context) error {
	if r.stage == nil {
		return nil
	}
	if err := r.tree.publish(ctx); err != nil {
		return err
	}
	r.landed = true
	return nil
}

func (r *newRun) verify(ctx context.Context) error {
	if r.opts.SkipVerify {
		return nil
	}
	rep, err := Verify(ctx, r.opts.Dir, r.g.Progress)
	r.res.Verify = rep
	return err
}

func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}
