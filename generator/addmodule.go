package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/saasgen/saasgen/generator/fsx"
)

// AddOptions are the inputs of `saasgen add module`.
type AddOptions struct {
	Dir        string // any directory inside the project
	Name       string // module name as typed, e.g. billing or order-items
	SkipVerify bool
	DryRun     bool
	Commit     bool // commit the change with go-git
	Rollback   bool // undo the change when verification fails
}

// AddResult is what `saasgen add module` did (or, with DryRun, would do).
type AddResult struct {
	Root       string   `json:"root"`
	Module     Names    `json:"module"`
	Migration  int      `json:"migration"`
	Added      []string `json:"added"`
	Changed    []string `json:"changed"`
	DryRun     bool     `json:"dry_run"`
	RolledBack bool     `json:"rolled_back"`
	Commit     string   `json:"commit,omitempty"`
	Verify     *Report  `json:"verification,omitempty"`
	// Notes says what was found and done beyond the module: an interrupted
	// run's transaction recovered, a module path taken from go.mod.
	Notes []string `json:"notes,omitempty"`
}

// addRun is the state of the add module pipeline.
type addRun struct {
	project
	opts     AddOptions
	names    Names
	modFiles []File // the module tree
	owned    []File // saasgen-owned files that change, saasgen.yaml included
	res      *AddResult
	wrote    bool // the transaction was begun: the result is returned with any later error
}

// AddModule adds a domain module to the generated project containing
// opts.Dir: the module tree rendered with the next free migration version,
// and every saasgen-owned file that depends on the module list (the
// composition root's module list and saasgen.yaml) re-rendered. Owned files
// are rewritten only when they are still exactly what saasgen generated;
// otherwise the command refuses and changes nothing. The command holds the
// project lock throughout and first recovers what a killed run left. All
// files land as one transaction, open until verification has passed: an
// error, an interrupt or a kill leaves (or, for a kill, the next command
// makes) the project as it was. A failed verification keeps the files (and
// says so) unless opts.Rollback is set.
func (g *Generator) AddModule(ctx context.Context, opts AddOptions) (*AddResult, error) {
	r := &addRun{project: project{tree: tree{g: g, progress: g.Progress}, dir: opts.Dir, readOnly: opts.DryRun}, opts: opts}
	err := runSteps(ctx, g.Progress, r, []step[addRun]{
		{run: (*addRun).findProject},  // the saasgen.yaml beside the go.mod of the module holding opts.Dir
		{run: (*addRun).lock},         // the project lock; a dead run's transaction recovered
		{run: (*addRun).readManifest}, // saasgen.yaml; the module path from go.mod
		{run: (*addRun).validate},     // the name, by the rules the wizard's question uses
		{run: (*addRun).checkGit},     // --commit: a repository with nothing staged
		{run: (*addRun).plan},         // the module tree and the owned files it changes
		{run: (*addRun).dryRun},       // --dry-run stops here
		{name: func(r *addRun) string { return "write module " + r.names.Package }, progress: true, run: (*addRun).write},
		{run: (*addRun).verify},    // go build, vet, test with the transaction still open
		{run: (*addRun).publish},   // the transaction's commit
		{run: (*addRun).gitCommit}, // --commit
	})
	if r.res != nil {
		r.res.Notes = append(r.res.Notes, r.notes...)
	}
	err = errors.Join(err, r.close())
	if err != nil && (!r.wrote || ctx.Err() != nil) {
		return nil, err
	}
	return r.res, err
}

func (r *addRun) validate(context.Context) error {
	n, err := r.g.validateAdd(r.root, r.man, r.opts.Name)
	r.names = n
	return err
}

func (r *addRun) checkGit(context.Context) error {
	if r.opts.Commit && !r.opts.DryRun {
		if err := checkGitLink(r.root); err != nil {
			return err
		}
		return CheckGitRepo(r.root)
	}
	return nil
}

func (r *addRun) plan(context.Context) error {
	after := r.man.Answers
	after.Modules = append(slices.Clone(r.man.Modules), r.names.Raw)
	rev, err := r.g.projectRevision(r.man)
	if err != nil {
		return err
	}
	paths, err := projectFiles(r.root)
	if err != nil {
		return err
	}
	alloc, _ := recordedAllocations(r.root, r.man).allocate(after.Modules, rev.keys, nextModuleMigration(paths))
	owned, err := r.g.ownedChanges(r.root, r.man, after, rev, alloc)
	if err != nil {
		return err
	}
	pd := projectData(after)
	pd.GoVersion = rev.GoVersion
	data := newModuleData(pd, r.names, alloc[r.names.Raw])
	modFiles, err := rev.module.Render(data)
	if err != nil {
		return fmt.Errorf("module %s: %w", r.names.Raw, err)
	}
	r.res = &AddResult{Root: r.root, Module: r.names, Migration: data.Migration, DryRun: r.opts.DryRun}
	for _, f := range modFiles {
		if _, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(f.Path))); err == nil {
			return invalid("module name", r.opts.Name, "would overwrite "+f.Path+", which already exists; choose another name")
		}
		r.res.Added = append(r.res.Added, f.Path)
	}
	for _, f := range owned {
		r.res.Changed = append(r.res.Changed, f.Path)
	}
	r.modFiles, r.owned = modFiles, owned
	r.files = append(slices.Clone(modFiles), owned...)
	return writeProblem(r.root, fsx.Check(r.root, r.files))
}

func (r *addRun) write(ctx context.Context) error {
	if err := r.tree.write(ctx); err != nil {
		return err
	}
	r.wrote = true
	return nil
}

// verify runs with the transaction open. An interrupt rolls it back (close
// does, at the end of the pipeline); a failed verification rolls it back
// with --rollback and otherwise commits it, keeping the files to fix.
func (r *addRun) verify(ctx context.Context) error {
	if r.opts.SkipVerify {
		return nil
	}
	rep, err := Verify(ctx, r.root, r.progress)
	r.res.Verify = rep
	var ve *VerifyError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &ve) && r.opts.Rollback:
		r.res.RolledBack = true
		tx := r.tx
		r.tx = nil
		return errors.Join(err, tx.Rollback())
	case err != nil:
		return errors.Join(err, r.tree.publish(ctx))
	}
	return nil
}

func (r *addRun) gitCommit(context.Context) error {
	if !r.opts.Commit {
		return nil
	}
	var err error
	r.res.Commit, err = GitCommitPaths(r.root, fmt.Sprintf("Add module %s with saasgen %s", r.names.Raw, r.g.Version), append(slices.Clone(r.res.Added), r.res.Changed...))
	return err
}

// ValidateAddModule checks raw as the name of a module to add to the project
// containing dir, exactly as `saasgen add module` does: the wizard's question
// validates with it.
func (g *Generator) ValidateAddModule(dir, raw string) error {
	root, err := FindProject(dir)
	if err != nil {
		return err
	}
	man, _, err := openManifest(root, g.Version)
	if err != nil {
		return err
	}
	_, err = g.validateAdd(root, man, raw)
	return err
}

// validateAdd is the one validation of `saasgen add module`: the name as
// typed, against the project's modules (see validateModules) and the
// module directories already in the tree.
func (g *Generator) validateAdd(root string, man *Manifest, raw string) (Names, error) {
	if raw == "" {
		return Names{}, &InputError{Field: "module name", Reason: "is required: saasgen add module NAME (e.g. billing, order_items)"}
	}
	if err := checkModuleCount(len(man.Modules) + 1); err != nil {
		return Names{}, err
	}
	if err := g.validateModules([]string{raw}, man.Modules); err != nil {
		return Names{}, err
	}
	n := ModuleNames(raw)
	if _, err := os.Lstat(filepath.Join(root, "internal", "modules", n.Package)); err == nil {
		return Names{}, invalid("module name", raw, "already exists: internal/modules/"+n.Package+" is in the project (not listed in "+ManifestFile+"); choose another name")
	}
	return n, nil
}

// ownedChanges renders the project with the answers before and after the
// change and returns the files whose content changes, with saasgen.yaml
// updated (answers and the hashes of the owned files). Each changed file must
// still be as saasgen last wrote it, or the user has edited a file saasgen
// owns and the change is refused. "As saasgen last wrote it" is the hash
// recorded in saasgen.yaml, so a newer saasgen whose templates render the
// file differently still recognises an untouched file; or the render of the
// recorded answers by the current templates, which is how a file the user
// only updated for a renamed Go module (the answers carry go.mod's path) is
// recognised.
func (g *Generator) ownedChanges(root string, man *Manifest, after Answers, rev *templateRevision, alloc Allocations) ([]File, error) {
	before, now := projectData(man.Answers), projectData(after)
	before.GoVersion, now.GoVersion = rev.GoVersion, rev.GoVersion
	oldFiles, err := rev.project.Render(before)
	if err != nil {
		return nil, err
	}
	newFiles, err := rev.project.Render(now)
	if err != nil {
		return nil, err
	}
	old := map[string][]byte{}
	for _, f := range oldFiles {
		old[f.Path] = f.Content
	}
	var changed []File
	for _, f := range newFiles {
		if prev, existed := old[f.Path]; !existed || !bytes.Equal(prev, f.Content) {
			changed = append(changed, f)
		}
	}
	newMan := *man
	newMan.Schema = ManifestSchema
	newMan.Answers = after
	newMan.Migrations = alloc
	newMan.Owned = maps.Clone(man.Owned)
	for _, f := range changed {
		onDisk, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		want, hashed := man.Owned[f.Path]
		untouched := bytes.Equal(onDisk, old[f.Path]) || hashed && err == nil && contentHash(onDisk) == want
		if !untouched {
			return nil, invalid("file", f.Path,
				"was changed by hand, and saasgen owns it (it lists the modules); nothing was changed. "+
					"Move your edits out of it (e.g. into internal/app/app.go), restore it with 'git checkout -- "+f.Path+"', and run the command again")
		}
		if isOwned(f.Content) {
			if newMan.Owned == nil {
				newMan.Owned = map[string]string{}
			}
			newMan.Owned[f.Path] = contentHash(f.Content)
		}
	}
	return append(changed, File{Path: ManifestFile, Content: newMan.Marshal(), Mode: 0o644}), nil
}

// projectFiles lists the project's files as slash paths relative to root,
// skipping .git and other hidden directories.
func projectFiles(root string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	return paths, err
}
