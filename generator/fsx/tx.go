package fsx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// JournalFile is the write-ahead journal of a transaction in progress, at
// the root of the tree it changes. It exists only while a transaction is
// open, or after a run that was killed during one; Recover reads it.
const JournalFile = ".saasgen-tx"

// Suffixes of the files a transaction keeps beside each target until it
// ends: the new content before it is swapped in, the old content until the
// commit.
const (
	NewSuffix = ".saasgen-new"
	OldSuffix = ".saasgen-old"
)

// Journal states. A transaction is rolled back on recovery unless its commit
// record was written; then the commit is completed instead.
const (
	statePrepared  = "prepared"
	stateCommitted = "committed"
)

// journal is the content of JournalFile.
type journal struct {
	Version int            `json:"version"`
	PID     int            `json:"pid"`
	State   string         `json:"state"`
	Files   []journalEntry `json:"files"`
	Dirs    []string       `json:"dirs"` // created by the transaction, parents first
}

type journalEntry struct {
	Path    string `json:"path"`
	Existed bool   `json:"existed"`           // the target existed: its old content is kept as Path+OldSuffix
	Removed bool   `json:"removed,omitempty"` // the target is removed: nothing is swapped in
}

// Tx is a set of files written into an existing tree that can still be
// undone: Commit keeps them, Rollback restores the tree as it was. While it
// is open the tree holds JournalFile and, beside each target, the old
// content (OldSuffix); if the process dies, the next Recover of the tree
// rolls it back.
type Tx struct {
	dir  string
	root *os.Root
	j    journal
	done bool
}

// Begin writes files into the tree at dir as one transaction. The caller
// holds the tree's Lock and has run Recover. The journal is written and
// synced first; then every file is written beside its target (NewSuffix)
// and synced, then swapped in by rename, the old content kept (OldSuffix)
// until Commit. On error everything is undone. A symlinked component
// leading outside the tree is an *EscapeError, before anything is written.
func Begin(dir string, files []File) (*Tx, error) {
	if err := Check(dir, files); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	tx := &Tx{dir: dir, root: root, j: journal{Version: 1, PID: os.Getpid(), State: statePrepared}}
	if err := tx.plan(files); err != nil {
		root.Close()
		return nil, err
	}
	if err := writeJournal(root, &tx.j); err != nil {
		root.Close()
		return nil, fmt.Errorf("writing the transaction journal in %s: %w", dir, err)
	}
	if err := tx.apply(files); err != nil {
		return nil, errors.Join(err, tx.Rollback())
	}
	return tx, nil
}

// plan records, for each file, whether its target exists, and the
// directories the transaction must create.
func (tx *Tx) plan(files []File) error {
	created := map[string]bool{}
	for _, f := range files {
		_, err := tx.root.Lstat(f.Path)
		switch {
		case err == nil:
			tx.j.Files = append(tx.j.Files, journalEntry{Path: f.Path, Existed: true, Removed: f.Remove})
		case errors.Is(err, fs.ErrNotExist) && f.Remove:
			continue // already gone: nothing to do
		case errors.Is(err, fs.ErrNotExist):
			tx.j.Files = append(tx.j.Files, journalEntry{Path: f.Path})
		default:
			return wrap(tx.dir, f.Path, err)
		}
		var missing []string
		for d := path.Dir(f.Path); d != "." && !created[d]; d = path.Dir(d) {
			if _, err := tx.root.Stat(d); err == nil {
				break
			} else if !errors.Is(err, fs.ErrNotExist) {
				return wrap(tx.dir, f.Path, err)
			}
			missing = append(missing, d)
		}
		slices.Reverse(missing)
		for _, d := range missing {
			created[d] = true
			tx.j.Dirs = append(tx.j.Dirs, d)
		}
	}
	return nil
}

func (tx *Tx) apply(files []File) error {
	for _, d := range tx.j.Dirs {
		if err := tx.root.Mkdir(d, 0o755); err != nil {
			return wrap(tx.dir, d, err)
		}
		step("mkdir " + d)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
		if f.Remove {
			continue
		}
		if err := writeFile(tx.root, f.Path+NewSuffix, f); err != nil {
			return wrap(tx.dir, f.Path, err)
		}
	}
	dirs := parentDirs(paths)
	if err := tx.syncDirs(dirs); err != nil {
		return err
	}
	for _, e := range tx.j.Files {
		if e.Existed {
			if err := tx.root.Rename(e.Path, e.Path+OldSuffix); err != nil {
				return wrap(tx.dir, e.Path, err)
			}
			step("keep old " + e.Path)
		}
		if e.Removed {
			continue
		}
		if err := tx.root.Rename(e.Path+NewSuffix, e.Path); err != nil {
			return wrap(tx.dir, e.Path, err)
		}
		step("swap in " + e.Path)
	}
	return tx.syncDirs(dirs)
}

func (tx *Tx) syncDirs(dirs []string) error {
	for _, d := range dirs {
		if err := syncDir(tx.root, d); err != nil {
			return fmt.Errorf("syncing %s: %w", d, err)
		}
	}
	return nil
}

// Commit makes the transaction's files permanent: the commit record is
// written first, then the old contents and the journal are removed.
func (tx *Tx) Commit() error {
	if tx.done {
		return nil
	}
	tx.done = true
	defer tx.root.Close()
	tx.j.State = stateCommitted
	if err := writeJournal(tx.root, &tx.j); err != nil {
		return fmt.Errorf("writing the commit record in %s: %w", tx.dir, err)
	}
	return finish(tx.root, &tx.j)
}

// Rollback restores every replaced file, removes every added file and every
// directory the transaction created, then the journal.
func (tx *Tx) Rollback() error {
	if tx.done {
		return nil
	}
	tx.done = true
	defer tx.root.Close()
	return undo(tx.root, &tx.j)
}

// undo rolls back the transaction of j from whatever state the tree is in:
// each entry is judged by which of its files exist, so it works after a
// kill at any moment.
func undo(root *os.Root, j *journal) error {
	var errs []error
	for i := len(j.Files) - 1; i >= 0; i-- {
		e := j.Files[i]
		errs = append(errs, removeIfExists(root, e.Path+NewSuffix))
		if _, err := root.Lstat(e.Path + OldSuffix); err == nil {
			errs = append(errs, root.Rename(e.Path+OldSuffix, e.Path))
		} else if !e.Existed {
			errs = append(errs, removeIfExists(root, e.Path))
		}
		step("undo " + e.Path)
	}
	for i := len(j.Dirs) - 1; i >= 0; i-- {
		if err := root.Remove(j.Dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotEmpty(root, j.Dirs[i]) {
			errs = append(errs, err)
		}
		step("rmdir " + j.Dirs[i])
	}
	errs = append(errs, syncAll(root, j), removeJournal(root))
	return errors.Join(errs...)
}

// finish completes a committed transaction: old contents go, then the
// journal.
func finish(root *os.Root, j *journal) error {
	var errs []error
	for _, e := range j.Files {
		errs = append(errs, removeIfExists(root, e.Path+OldSuffix), removeIfExists(root, e.Path+NewSuffix))
		step("drop old " + e.Path)
	}
	errs = append(errs, syncAll(root, j), removeJournal(root))
	return errors.Join(errs...)
}

func syncAll(root *os.Root, j *journal) error {
	paths := make([]string, 0, len(j.Files))
	for _, e := range j.Files {
		paths = append(paths, e.Path)
	}
	var errs []error
	for _, d := range parentDirs(paths) {
		if err := syncDir(root, d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isNotEmpty(root *os.Root, dir string) bool {
	d, err := root.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(1)
	return len(names) > 0
}

func removeIfExists(root *os.Root, name string) error {
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

const journalTemp = JournalFile + ".tmp"

// writeJournal replaces the journal atomically and durably.
func writeJournal(root *os.Root, j *journal) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := writeFile(root, journalTemp, File{Content: data, Mode: 0o644}); err != nil {
		return err
	}
	if err := root.Rename(journalTemp, JournalFile); err != nil {
		return err
	}
	step("journal " + j.State)
	return syncDir(root, ".")
}

func removeJournal(root *os.Root) error {
	err := errors.Join(removeIfExists(root, JournalFile), removeIfExists(root, journalTemp))
	if err != nil {
		return err
	}
	step("remove journal")
	return syncDir(root, ".")
}

// Recovery says what Recover found and did.
type Recovery struct {
	PID        int    // the process whose transaction was found
	Action     string // "rolled back" or "completed"
	Files      int    // files in the transaction
	TempsFound bool   // only a journal being written was found (nothing to undo)
}

func (r *Recovery) String() string {
	if r.TempsFound {
		return "removed the journal of an interrupted saasgen run (it had not written anything yet)"
	}
	what := "rolled back its %d files: the tree is as it was before that run"
	if r.Action == "completed" {
		what = "completed its commit of %d files"
	}
	return fmt.Sprintf("found the transaction of an interrupted saasgen run (process %d) and "+what, r.PID, r.Files)
}

// Recover finishes the transaction a dead run left in the tree at dir:
// rolled back when its commit record was not written (the tree returns to
// what it was before that run), completed when it was (the run had decided
// to keep its files). The caller holds the tree's Lock, so no live run owns
// the journal. It returns nil when there was nothing to recover.
func Recover(dir string) (*Recovery, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	data, err := root.ReadFile(JournalFile)
	if errors.Is(err, fs.ErrNotExist) {
		// A journal being written when the run died: nothing was written
		// after it, so it is all there is to clean.
		if _, err := root.Lstat(journalTemp); err == nil {
			return &Recovery{TempsFound: true}, removeJournal(root)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s in %s: %w", JournalFile, dir, err)
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil || j.Version != 1 {
		return nil, fmt.Errorf("%s in %s is not a saasgen journal saasgen can read (%v); if no saasgen command is running there, restore the tree from git and delete it", JournalFile, dir, err)
	}
	for _, e := range j.Files {
		if !local(e.Path) {
			return nil, fmt.Errorf("%s in %s names %q, outside the tree; delete it after checking the tree with git status", JournalFile, dir, e.Path)
		}
	}
	rec := &Recovery{PID: j.PID, Files: len(j.Files), Action: "rolled back"}
	if j.State == stateCommitted {
		rec.Action = "completed"
		return rec, finish(root, &j)
	}
	return rec, undo(root, &j)
}

// local reports whether p is a clean relative slash path inside the tree.
func local(p string) bool {
	return p != "" && p == path.Clean(p) && !path.IsAbs(p) && p != ".." && !strings.HasPrefix(p, "../")
}
