package fsx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// StagePrefix begins the name of every staging directory saasgen makes
// beside a new tree: .saasgen-stage-<target>-<random>. A staging directory
// is locked (see Lock) by the run that owns it for as long as it exists, so
// one that is not locked belongs to a dead run and CleanStages removes it.
const StagePrefix = ".saasgen-stage-"

// Stage is a new tree being built in a staging directory beside its target,
// published with one rename.
type Stage struct {
	Dir    string // the staging directory, absolute
	target string
	root   *os.Root
	lock   *Lock
	dirs   map[string]bool // directories created, for the fsync before publishing
}

// NewStage makes a locked staging directory beside target (which must not
// exist yet), creating target's parent if needed, after removing the staging
// directories dead runs left there.
func NewStage(ctx context.Context, target string) (*Stage, error) {
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", parent, err)
	}
	// The parent's lock makes creating and locking a staging directory one
	// step for CleanStages, which takes the same lock.
	plock, err := Acquire(ctx, parent, nil)
	if err != nil {
		return nil, err
	}
	defer plock.Release()
	if _, err := cleanStages(parent); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, StagePrefix+filepath.Base(target)+"-")
	if err != nil {
		return nil, fmt.Errorf("creating a staging directory: %w", err)
	}
	step("mkdir stage")
	s := &Stage{Dir: dir, target: target, dirs: map[string]bool{".": true}}
	if s.lock, err = TryAcquire(dir); err != nil {
		os.Remove(dir)
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, errors.Join(err, s.Abort())
	}
	if s.root, err = os.OpenRoot(dir); err != nil {
		return nil, errors.Join(err, s.Abort())
	}
	return s, nil
}

// Write writes files into the staging directory. They are synced with the
// rest of the staging tree by Publish: nothing is visible at the target
// before then.
func (s *Stage) Write(ctx context.Context, files []File) error {
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Remove {
			continue // a new tree has nothing to remove
		}
		if d := path.Dir(f.Path); !s.dirs[d] {
			if err := s.root.MkdirAll(d, 0o755); err != nil {
				return wrap(s.Dir, f.Path, err)
			}
			step("mkdir " + d)
			for ; d != "." && !s.dirs[d]; d = path.Dir(d) {
				s.dirs[d] = true
			}
		}
		if err := writeFileSync(s.root, f.Path, f, false); err != nil {
			return wrap(s.Dir, f.Path, err)
		}
	}
	return nil
}

// Publish syncs the whole staging tree (whatever wrote into it: Write, or
// git), moves it to the target with one rename, syncs the parent, and
// returns the lock, which now locks the published tree.
func (s *Stage) Publish() (*Lock, error) {
	if err := syncTree(s.Dir); err != nil {
		return nil, fmt.Errorf("syncing the staged tree: %w", err)
	}
	step("sync stage")
	s.root.Close()
	if err := os.Rename(s.Dir, s.target); err != nil {
		return nil, errors.Join(fmt.Errorf("moving the generated tree into place: %w", err), s.Abort())
	}
	step("publish")
	if err := syncPath(filepath.Dir(s.target)); err != nil {
		return nil, err
	}
	l := s.lock
	s.lock = nil
	return l, nil
}

// Abort removes the staging directory and releases its lock.
func (s *Stage) Abort() error {
	if s.root != nil {
		s.root.Close()
	}
	err := os.RemoveAll(s.Dir)
	return errors.Join(err, s.lock.Release())
}

func syncPath(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// CleanStages removes the staging directories that dead runs left in
// parent (those no live run holds locked) and returns their names.
func CleanStages(ctx context.Context, parent string) ([]string, error) {
	plock, err := Acquire(ctx, parent, nil)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer plock.Release()
	return cleanStages(parent)
}

func cleanStages(parent string) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, err
	}
	var removed []string
	var root *os.Root
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), StagePrefix) {
			continue
		}
		l, err := TryAcquire(filepath.Join(parent, e.Name()))
		if err != nil {
			continue // a live run's, or gone
		}
		if root == nil {
			if root, err = os.OpenRoot(parent); err != nil {
				l.Release()
				return removed, err
			}
			defer root.Close()
		}
		err = root.RemoveAll(e.Name())
		l.Release()
		if err != nil {
			return removed, fmt.Errorf("removing %s left by an interrupted saasgen run: %w", filepath.Join(parent, e.Name()), err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
