package generator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/saasgen/saasgen/generator/fsx"
)

// The commands that change a tree (new, add module, and upgrade) are
// pipelines of named steps, run in order until one fails: validate → plan →
// render → lock → write → commit → verify. The steps they share (lock and
// recover, write as a transaction, verify) are the same functions over the
// same state, a tree.

// step is one named stage of a pipeline over the state S. A step with
// progress set is shown while it runs (the long ones); the others are quick.
// A step whose skip reports true is neither run nor shown (git steps with
// --no-git).
type step[S any] struct {
	name     func(*S) string
	progress bool
	skip     func(*S) bool
	run      func(*S, context.Context) error // a method expression: (*newRun).render
}

// errStop ends a pipeline early with success (a dry run stops after
// planning).
var errStop = errors.New("stop")

// runSteps runs steps in order; between steps a cancelled ctx stops the
// pipeline.
func runSteps[S any](ctx context.Context, p Progress, s *S, steps []step[S]) error {
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st.skip != nil && st.skip(s) {
			continue
		}
		var err error
		if st.progress {
			err = p.step(st.name(s), func() error { return st.run(s, ctx) })
		} else {
			err = st.run(s, ctx)
		}
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// named returns a fixed step name.
func named[S any](name string) func(*S) string {
	return func(*S) string { return name }
}

// tree is the state the shared steps work on: the tree a command changes,
// its project lock, and the files on their way into it.
type tree struct {
	g        *Generator
	root     string     // absolute path of the tree
	lock     *fsx.Lock  // the project lock, once taken
	stage    *fsx.Stage // a new tree: its staging directory until published
	tx       *fsx.Tx    // an existing tree: the open transaction
	files    []File     // what to write
	notes    []string   // what recovery found and did, for the user
	progress Progress
}

// lockTree takes the project lock of the existing tree at t.root, waiting
// while another saasgen command holds it (and saying so), then finishes what
// a dead run left there: its transaction (fsx.Recover).
func (t *tree) lockTree(ctx context.Context) error {
	waitStep := "waiting for another saasgen command working in " + t.root
	waited := false
	lock, err := fsx.Acquire(ctx, t.root, func() {
		waited = true
		if t.progress != nil {
			t.progress(Event{Step: waitStep})
		}
	})
	if waited && t.progress != nil {
		t.progress(Event{Step: waitStep, Done: true, Err: err})
	}
	if err != nil {
		return err
	}
	t.lock = lock
	rec, err := fsx.Recover(t.root)
	if rec != nil {
		t.notes = append(t.notes, fmt.Sprintf("%s: %s", t.root, rec))
	}
	return err
}

// open prepares the tree for writing: an existing directory is locked and
// recovered (lockTree), a new one staged (newStage).
func (t *tree) open(ctx context.Context) error {
	if _, err := os.Stat(t.root); err == nil {
		return t.lockTree(ctx)
	}
	return t.newStage(ctx)
}

// newStage starts a new tree at t.root in a staging directory beside it,
// after removing the staging directories dead runs left there.
func (t *tree) newStage(ctx context.Context) error {
	removed, err := fsx.CleanStages(ctx, filepath.Dir(t.root))
	for _, name := range removed {
		t.notes = append(t.notes, "removed "+filepath.Join(filepath.Dir(t.root), name)+", left by an interrupted saasgen run")
	}
	if err != nil {
		return err
	}
	t.stage, err = fsx.NewStage(ctx, t.root)
	return err
}

// write writes t.files: into the staging directory of a new tree, or into
// the existing tree as a transaction left open for the caller to commit or
// roll back.
func (t *tree) write(ctx context.Context) error {
	if t.stage != nil {
		return t.stage.Write(ctx, t.files)
	}
	tx, err := WriteFiles(t.root, t.files)
	if err != nil {
		return err
	}
	t.tx = tx
	return nil
}

// publish moves a staged tree into place; its lock becomes the project
// lock. For an existing tree it commits the transaction.
func (t *tree) publish(context.Context) error {
	if t.stage == nil {
		tx := t.tx
		t.tx = nil
		return tx.Commit()
	}
	lock, err := t.stage.Publish()
	t.stage = nil
	if err != nil {
		return err
	}
	t.lock = lock
	return nil
}

// close ends whatever is still open after the pipeline: an unpublished
// staging directory is removed, an uncommitted transaction rolled back,
// the lock released.
func (t *tree) close() error {
	var errs []error
	if t.stage != nil {
		errs = append(errs, t.stage.Abort())
	}
	if t.tx != nil {
		errs = append(errs, t.tx.Rollback())
	}
	errs = append(errs, t.lock.Release())
	return errors.Join(errs...)
}

// gitDir returns the directory git works in: the staging directory until the
// tree is published.
func (t *tree) gitDir() string {
	if t.stage != nil {
		return t.stage.Dir
	}
	return t.root
}

// checkGitLink refuses a .git in the tree that is a symbolic link: the
// commit would be written wherever it points.
func checkGitLink(root string) error {
	fi, err := os.Lstat(filepath.Join(root, ".git"))
	if err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return invalid("target directory", root, "has .git as a symbolic link; saasgen writes only inside the target: replace it with the repository, or pass --no-git")
	}
	return nil
}

// project is the state of the commands that change an existing generated
// project (add module, upgrade): its tree and its manifest. Their first
// steps are these methods.
type project struct {
	tree
	dir      string // the directory the command was given, inside the project
	readOnly bool   // a dry run or a check: no lock taken, nothing recovered
	man      *Manifest
}

// findProject finds the project holding dir: saasgen.yaml beside the go.mod
// of its Go module.
func (p *project) findProject(context.Context) error {
	root, err := FindProject(p.dir)
	p.root = root
	return err
}

// lock takes the project lock and recovers what a killed run left; a
// read-only run takes neither and only says when a dead run's transaction
// is pending.
func (p *project) lock(ctx context.Context) error {
	if !p.readOnly {
		return p.lockTree(ctx)
	}
	if _, err := os.Lstat(filepath.Join(p.root, fsx.JournalFile)); err == nil {
		p.notes = append(p.notes, "an interrupted saasgen run left a transaction in "+p.root+"; the next command that writes there rolls it back")
	}
	return nil
}

// readManifest reads saasgen.yaml (refusing one from a newer saasgen) and
// the module path from go.mod.
func (p *project) readManifest(context.Context) error {
	man, notes, err := openManifest(p.root, p.g.Version)
	p.man = man
	p.notes = append(p.notes, notes...)
	return err
}

// dryRun ends a read-only run after planning: --dry-run writes nothing.
func (p *project) dryRun(context.Context) error {
	if p.readOnly {
		return errStop
	}
	return nil
}
