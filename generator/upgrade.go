package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/saasgen/saasgen/generator/fsx"
	"github.com/saasgen/saasgen/generator/merge"
)

// UpgradeOptions are the inputs of `saasgen upgrade`.
type UpgradeOptions struct {
	Dir string // any directory inside the project
	// Set chooses answers, key=value: a backend the current templates ask
	// for that the project never answered (or a new value for one it did).
	Set []string
	// BaseRevision overrides the template revision saasgen.yaml records
	// as the project's base.
	BaseRevision string
	AllowDirty   bool // merge into a tree with uncommitted changes
	DryRun       bool // plan and report, write nothing
	Check        bool // report only whether the project is behind
	SkipVerify   bool
	Commit       bool // commit the result with git after a clean merge and verification
}

// Outcomes of one file in an upgrade.
const (
	OutcomeUpdated        = "updated"         // untouched by the owners: the new template's version
	OutcomeKept           = "kept"            // changed by the owners only: kept as it is
	OutcomeMerged         = "merged"          // changed by both: merged without conflict
	OutcomeConflict       = "conflict"        // changed by both, overlapping: conflict markers written
	OutcomeBinaryConflict = "binary-conflict" // a binary changed by both: kept, the new version beside it
	OutcomeAdded          = "added"           // new in the templates
	OutcomeRemoved        = "removed"         // no longer in the templates, unchanged: removed
	OutcomeKeptRemoved    = "kept-removed"    // no longer in the templates, but changed by the owners: kept
	OutcomeDeleted        = "deleted"         // deleted by the owners: stays deleted
	OutcomeOwned          = "regenerated"     // a file saasgen owns, regenerated
	OutcomeOwnedEdited    = "regenerated-edited"
)

// TheirsSuffix names the new version of a binary file in conflict, written
// beside the owners' version.
const TheirsSuffix = ".saasgen-theirs"

// UpgradeFile is what the upgrade does to one file.
type UpgradeFile struct {
	Path    string `json:"path"`
	Outcome string `json:"outcome"`
	// Diff is the change to the file on disk, unified (dry run only).
	Diff string `json:"-"`
}

// UpgradeResult is what `saasgen upgrade` did (or, with DryRun, would do).
type UpgradeResult struct {
	Root         string `json:"root"`
	FromRevision string `json:"from_revision"`
	ToRevision   string `json:"to_revision"`
	FromVersion  string `json:"from_version"` // saasgen version recorded in saasgen.yaml
	ToVersion    string `json:"to_version"`
	// Behind: the project was not rendered with the current templates, or
	// misses an answer they need.
	Behind bool `json:"behind"`
	// Defaulted are the answers the project never gave that took their
	// defaults; Set those chosen with --set.
	Defaulted []string      `json:"defaulted,omitempty"`
	Set       []string      `json:"set,omitempty"`
	Files     []UpgradeFile `json:"files"`
	Conflicts []string      `json:"conflicts,omitempty"`
	DryRun    bool          `json:"dry_run"`
	Check     bool          `json:"check"`
	Commit    string        `json:"commit,omitempty"`
	Verify    *Report       `json:"verification,omitempty"`
	Notes     []string      `json:"notes,omitempty"`
}

// ConflictError is an upgrade that wrote conflict markers: the owners
// resolve them.
type ConflictError struct{ Paths []string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%d file(s) have conflicts: %s; resolve the conflict markers (<<<<<<< ... >>>>>>>), then run 'saasgen verify' and commit", len(e.Paths), strings.Join(e.Paths, ", "))
}

// BehindError is the answer of --check for a project behind the templates.
type BehindError struct{ From, To string }

func (e *BehindError) Error() string {
	return fmt.Sprintf("the project is behind the current templates (revision %s, current %s): run saasgen upgrade", e.From, e.To)
}

// upgradeRun is the state of the upgrade pipeline.
type upgradeRun struct {
	project
	opts              UpgradeOptions
	base, cur         *templateRevision
	baseAns, newAns   Answers
	baseAlloc, alloc  Allocations
	baseFiles, theirs map[string]File
	res               *UpgradeResult
	wrote             bool
}

// Upgrade brings the project containing opts.Dir up to the current
// templates: it renders the project's recorded answers with the revision
// it was last rendered with (the base) and with the current templates
// (theirs), and merges the difference into the working tree file by file,
// three ways. See the README's upgrade section for the rules.
func (g *Generator) Upgrade(ctx context.Context, opts UpgradeOptions) (*UpgradeResult, error) {
	r := &upgradeRun{project: project{tree: tree{g: g, progress: g.Progress}, dir: opts.Dir, readOnly: opts.DryRun || opts.Check}, opts: opts}
	err := runSteps(ctx, g.Progress, r, []step[upgradeRun]{
		{run: (*upgradeRun).findProject},  // saasgen.yaml beside the go.mod of the module holding opts.Dir
		{run: (*upgradeRun).lock},         // the project lock; a dead run's transaction recovered (not for --check, --dry-run)
		{run: (*upgradeRun).readManifest}, // refuses a newer saasgen or schema
		{run: (*upgradeRun).revisions},    // the base revision (recorded, legacy or --base-revision) and the current one
		{run: (*upgradeRun).answers},      // recorded answers, --set, defaults; validated as new validates
		{run: (*upgradeRun).check},        // --check stops here
		{run: (*upgradeRun).clean},        // refuses a dirty tree unless --allow-dirty
		{name: named[upgradeRun]("render base and current templates"), progress: true, run: (*upgradeRun).render},
		{run: (*upgradeRun).plan},   // three-way merge of every file
		{run: (*upgradeRun).dryRun}, // --dry-run stops here
		{name: func(r *upgradeRun) string { return fmt.Sprintf("write %d files", len(r.files)) }, progress: true, run: (*upgradeRun).write},
		{run: (*upgradeRun).conflicts}, // conflicts stop here, exit 1
		{run: (*upgradeRun).verify},    // go build, vet, test
		{run: (*upgradeRun).gitCommit}, // --commit
	})
	if r.res != nil {
		r.res.Notes = append(r.res.Notes, r.notes...)
	}
	err = errors.Join(err, r.close())
	if err != nil && r.res == nil {
		return nil, err
	}
	return r.res, err
}

func (r *upgradeRun) revisions(context.Context) error {
	id := r.opts.BaseRevision
	if id == "" {
		id = r.man.Templates
	}
	if id == "" {
		legacy, err := r.g.legacyRevision()
		if err != nil {
			return err
		}
		id = legacy
	}
	base, err := r.g.revision(id)
	var unknown *UnknownRevisionError
	if errors.As(err, &unknown) {
		return r.unknownBase(id)
	}
	if err != nil {
		return err
	}
	cur, err := r.g.revision(r.g.revs.current)
	if err != nil {
		return err
	}
	r.base, r.cur = base, cur
	r.res = &UpgradeResult{Root: r.root, FromRevision: base.ID, ToRevision: cur.ID, FromVersion: r.man.SaasgenVersion, ToVersion: r.g.Version, DryRun: r.opts.DryRun, Check: r.opts.Check, Files: []UpgradeFile{}}
	return nil
}

// unknownBase explains a base revision this saasgen does not carry.
func (r *upgradeRun) unknownBase(id string) error {
	var known []string
	if st, err := r.g.history(); err == nil {
		for _, rev := range st.Revisions() {
			known = append(known, rev.ID)
		}
	}
	field, reason := "template revision", "is not in this saasgen's template history, so the project's base cannot be rendered: "
	if r.opts.BaseRevision == "" {
		field = ManifestFile + " templates"
		reason += "the project was generated by a newer or a development saasgen; upgrade saasgen, or "
	}
	reason += "pass --base-revision with the revision the project was last generated with (one of " + strings.Join(known, ", ") +
		"), or generate the project again with saasgen new and move your changes over"
	return invalid(field, id, reason)
}

// answers: the base renders the recorded answers; theirs adds --set and
// the defaults of answers the project never gave.
func (r *upgradeRun) answers(context.Context) error {
	r.baseAns = r.man.Answers
	r.baseAns.Modules = slices.Clone(r.man.Modules)
	r.baseAns.FillDefaults()
	r.newAns = r.man.Answers
	r.newAns.Modules = slices.Clone(r.man.Modules)
	for _, kv := range r.opts.Set {
		key, value, ok := strings.Cut(kv, "=")
		b, known := BackendByKey(key)
		if !ok || !known {
			return invalid("--set", kv, "must be key=value with key one of: "+strings.Join(backendKeys(), ", "))
		}
		if err := ValidateChoice("--set "+key, value, b.Choices); err != nil {
			return err
		}
		b.Set(&r.newAns, value)
		r.res.Set = append(r.res.Set, key)
	}
	r.res.Defaulted = r.newAns.FillDefaults()
	// The one validation of the answers, as new does.
	if _, err := r.g.Validate(Options{Answers: r.newAns, Dir: r.root}); err != nil {
		return err
	}
	r.baseAlloc = recordedAllocations(r.root, r.man)
	paths, err := projectFiles(r.root)
	if err != nil {
		return err
	}
	r.alloc, _ = r.baseAlloc.allocate(r.newAns.Modules, r.cur.keys, nextModuleMigration(paths))
	r.res.Behind = r.base.ID != r.cur.ID || r.man.Templates == "" || len(r.res.Defaulted) > 0 || len(r.res.Set) > 0
	return nil
}

func (r *upgradeRun) check(context.Context) error {
	if !r.opts.Check {
		return nil
	}
	if r.res.Behind {
		return &BehindError{From: r.base.ID, To: r.cur.ID}
	}
	return errStop
}

// clean refuses a tree with uncommitted changes: the upgrade's changes must
// be told apart from the owners' (git diff shows them, git checkout undoes
// them).
func (r *upgradeRun) clean(context.Context) error {
	if r.opts.AllowDirty || r.opts.DryRun {
		return nil
	}
	cmd := exec.Command("git", "status", "--porcelain", "--untracked-files=normal")
	cmd.Dir = r.root
	out, err := cmd.Output()
	if err != nil {
		return invalid("directory", r.root, "is not a git working tree saasgen can check ("+strings.TrimSpace(err.Error())+"): commit the project to git first, so the upgrade's changes can be reviewed and undone, or pass --allow-dirty")
	}
	if len(bytes.TrimSpace(out)) > 0 {
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) > 5 {
			lines = append(lines[:5], "...")
		}
		return invalid("working tree", r.root, "has uncommitted changes ("+strings.Join(lines, "; ")+"): commit or stash them first, so the upgrade's changes can be reviewed and undone, or pass --allow-dirty")
	}
	return nil
}

func (r *upgradeRun) render(ctx context.Context) error {
	base, err := r.g.renderRevision(ctx, r.base, r.baseAns, r.baseAlloc.clone())
	if err != nil {
		return fmt.Errorf("rendering the base (revision %s): %w", r.base.ID, err)
	}
	theirs, err := r.g.renderRevision(ctx, r.cur, r.newAns, r.alloc)
	if err != nil {
		return err
	}
	r.baseFiles, r.theirs = byPath(base), byPath(theirs)
	return nil
}

func byPath(files []File) map[string]File {
	m := make(map[string]File, len(files))
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

// plan decides each file's outcome by the rules of upgrade and collects
// what to write (and remove), saasgen.yaml last.
func (r *upgradeRun) plan(context.Context) error {
	paths := map[string]bool{}
	for p := range r.baseFiles {
		paths[p] = true
	}
	for p := range r.theirs {
		paths[p] = true
	}
	labels := merge.Labels{Ours: "yours", Theirs: "saasgen " + r.g.Version + " (templates " + r.cur.ID + ")"}
	for _, p := range slices.Sorted(mapKeys(paths)) {
		b, inBase := r.baseFiles[p]
		t, inTheirs := r.theirs[p]
		ours, err := os.ReadFile(filepath.Join(r.root, filepath.FromSlash(p)))
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		owned := inTheirs && isOwned(t.Content) || r.man.Owned[p] != ""
		// The owners changed a file when it differs from the base, unless
		// it is an owned file exactly as saasgen last wrote it.
		changed := exists && (!inBase || !bytes.Equal(ours, b.Content)) &&
			!(owned && r.man.Owned[p] == contentHash(ours))
		outcome := ""
		var write *File
		switch {
		case inBase && inTheirs && !exists:
			if !bytes.Equal(b.Content, t.Content) {
				outcome = OutcomeDeleted
			}
		case inTheirs && exists && bytes.Equal(ours, t.Content):
			// Already what the templates make.
		case inTheirs && !exists:
			outcome, write = OutcomeAdded, &t
		case inTheirs && !changed:
			outcome, write = OutcomeUpdated, &t
			if owned {
				outcome = OutcomeOwned
			}
		case inTheirs && owned:
			outcome, write = OutcomeOwnedEdited, &t
		case inTheirs && inBase && bytes.Equal(b.Content, t.Content):
			outcome = OutcomeKept
		case inTheirs && (merge.IsBinary(ours) || merge.IsBinary(t.Content)):
			outcome = OutcomeBinaryConflict
			write = &File{Path: p + TheirsSuffix, Content: t.Content, Mode: t.Mode}
		case inTheirs:
			var baseContent []byte
			if inBase {
				baseContent = b.Content
			}
			m := merge.Merge(baseContent, ours, t.Content, labels)
			outcome = OutcomeMerged
			if m.Conflicts > 0 {
				outcome = OutcomeConflict
			}
			write = &File{Path: p, Content: m.Content, Mode: t.Mode}
		case !exists: // only in the base, and gone
		case changed:
			outcome = OutcomeKeptRemoved
		default:
			outcome, write = OutcomeRemoved, &File{Path: p, Remove: true}
		}
		if outcome == "" {
			continue
		}
		uf := UpgradeFile{Path: p, Outcome: outcome}
		if write != nil {
			r.files = append(r.files, *write)
			if r.opts.DryRun {
				uf.Diff = unified(p, ours, exists, *write)
			}
		}
		if outcome == OutcomeConflict || outcome == OutcomeBinaryConflict {
			r.res.Conflicts = append(r.res.Conflicts, p)
		}
		if outcome == OutcomeOwnedEdited {
			r.notes = append(r.notes, p+" was edited by hand, and saasgen owns it: it was regenerated; your version is in git (git diff HEAD -- "+p+")")
		}
		r.res.Files = append(r.res.Files, uf)
	}
	man := Manifest{Schema: ManifestSchema, SaasgenVersion: r.g.Version, Templates: r.cur.ID, Answers: r.newAns, Migrations: r.alloc, Owned: ownedHashes(slices.Collect(mapValues(r.theirs)))}
	data := man.Marshal()
	if old, err := os.ReadFile(filepath.Join(r.root, ManifestFile)); err != nil || !bytes.Equal(old, data) {
		f := File{Path: ManifestFile, Content: data, Mode: 0o644}
		r.files = append(r.files, f)
		uf := UpgradeFile{Path: ManifestFile, Outcome: OutcomeUpdated}
		if r.opts.DryRun {
			uf.Diff = unified(ManifestFile, old, err == nil, f)
		}
		r.res.Files = append(r.res.Files, uf)
	}
	return writeProblem(r.root, fsx.Check(r.root, r.files))
}

func unified(p string, ours []byte, exists bool, f File) string {
	from, to := "a/"+p, "b/"+f.Path
	if !exists {
		from = "/dev/null"
	}
	var content []byte
	if f.Remove {
		to = "/dev/null"
	} else {
		content = f.Content
	}
	if f.Path != p { // a binary's new version beside it
		return fmt.Sprintf("Binary file %s changed: the new version would be written to %s\n", p, f.Path)
	}
	if merge.IsBinary(ours) || merge.IsBinary(content) {
		return fmt.Sprintf("Binary file %s differs\n", p)
	}
	return string(merge.Unified(ours, content, from, to))
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// write lands every file as one transaction and commits it: the tree is
// the upgraded project, or after an error or a kill, as it was.
func (r *upgradeRun) write(ctx context.Context) error {
	if err := r.tree.write(ctx); err != nil {
		return err
	}
	r.wrote = true
	return r.tree.publish(ctx)
}

func (r *upgradeRun) conflicts(context.Context) error {
	if len(r.res.Conflicts) > 0 {
		return &ConflictError{Paths: r.res.Conflicts}
	}
	return nil
}

func (r *upgradeRun) verify(ctx context.Context) error {
	if r.opts.SkipVerify {
		return nil
	}
	rep, err := Verify(ctx, r.root, r.progress)
	r.res.Verify = rep
	return err
}

func (r *upgradeRun) gitCommit(context.Context) error {
	if !r.opts.Commit || len(r.files) == 0 {
		return nil
	}
	paths := make([]string, 0, len(r.files))
	for _, f := range r.files {
		paths = append(paths, f.Path)
	}
	msg := fmt.Sprintf("Upgrade to saasgen %s (templates %s)\n\nFrom saasgen %s (templates %s) by saasgen upgrade.", r.g.Version, r.cur.ID, orUnknown(r.man.SaasgenVersion), r.base.ID)
	var err error
	r.res.Commit, err = GitCommitPaths(r.root, msg, paths)
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
