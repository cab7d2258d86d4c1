//go:build unix

package fsx

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The crash tests kill a process with SIGKILL after its n-th disk operation,
// for every n until the operation completes, and check that what the next
// run does (Recover, CleanStages) leaves the tree exactly as before or
// exactly as after, with nothing of saasgen's left in it, and that the same
// operation then succeeds.

const (
	crashAtEnv  = "FSX_CRASH_AT"  // kill after this many operations
	crashOpEnv  = "FSX_CRASH_OP"  // tx-commit, tx-rollback or stage
	crashDirEnv = "FSX_CRASH_DIR" // the tree (or, for stage, the target)
)

var (
	oldFiles = []File{
		{Path: "a.txt", Content: []byte("old a"), Mode: 0o644},
		{Path: "sub/b.txt", Content: []byte("old b"), Mode: 0o644},
		{Path: "keep.txt", Content: []byte("the owner's"), Mode: 0o600},
		{Path: "sub/gone.txt", Content: []byte("removed by the transaction"), Mode: 0o644},
	}
	newFiles = []File{
		{Path: "a.txt", Content: []byte("new a"), Mode: 0o644},
		{Path: "sub/b.txt", Content: []byte("new b"), Mode: 0o644},
		{Path: "new/dir/c.txt", Content: []byte("new c"), Mode: 0o644},
		{Path: "run.sh", Content: []byte("#!/bin/sh\n"), Mode: 0o755},
		{Path: "sub/gone.txt", Remove: true},
	}
)

// TestCrashHelper is not a test: it is the process the crash tests kill.
func TestCrashHelper(t *testing.T) {
	at, _ := strconv.Atoi(os.Getenv(crashAtEnv))
	if at == 0 {
		t.Skip("helper process only")
	}
	n := 0
	step = func(string) {
		if n++; n == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	dir := os.Getenv(crashDirEnv)
	var err error
	switch os.Getenv(crashOpEnv) {
	case "tx-commit", "tx-rollback":
		var tx *Tx
		if tx, err = Begin(dir, newFiles); err == nil {
			if os.Getenv(crashOpEnv) == "tx-commit" {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
		}
	case "stage":
		err = stageTree(dir, newFiles)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func stageTree(target string, files []File) error {
	s, err := NewStage(context.Background(), target)
	if err != nil {
		return err
	}
	if err := s.Write(context.Background(), files); err != nil {
		return err
	}
	l, err := s.Publish()
	if err != nil {
		return err
	}
	return l.Release()
}

// crashAt runs the helper for op, killed after its n-th operation; it
// reports whether the helper was killed (false: it completed first).
func crashAt(t *testing.T, op, dir string, n int) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashAtEnv+"="+strconv.Itoa(n), crashOpEnv+"="+op, crashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return false
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	t.Fatalf("helper for %s at %d: %v\n%s", op, n, err, out)
	return false
}

func writeTree(t *testing.T, dir string, files []File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, f.Mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, f.Mode)
	}
}

// snapshot maps every entry under dir to its content and mode ("dir" for
// directories).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = "dir " + fi.Mode().Perm().String()
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = fmt.Sprintf("%s %s", fi.Mode().Perm(), b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// debris lists what saasgen might leave: journals, temporaries, stages.
func debris(tree map[string]string) []string {
	var out []string
	for p := range tree {
		base := filepath.Base(p)
		if strings.HasPrefix(base, JournalFile) || strings.HasSuffix(p, NewSuffix) || strings.HasSuffix(p, OldSuffix) || strings.HasPrefix(base, StagePrefix) {
			out = append(out, p)
		}
	}
	return out
}

func TestCrashDuringTransaction(t *testing.T) {
	for _, op := range []string{"tx-commit", "tx-rollback"} {
		t.Run(op, func(t *testing.T) {
			base := t.TempDir()
			ref := filepath.Join(base, "ref")
			writeTree(t, ref, oldFiles)
			before := snapshot(t, ref)
			tx, err := Begin(ref, newFiles)
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			after := snapshot(t, ref)
			sawAfter := false
			for n := 1; ; n++ {
				dir := filepath.Join(base, strconv.Itoa(n))
				writeTree(t, dir, oldFiles)
				if !crashAt(t, op, dir, n) {
					if n < 10 {
						t.Fatalf("the %s completed after %d operations: the hook is not reached", op, n-1)
					}
					t.Logf("%s: killed after each of %d operations", op, n-1)
					break
				}
				lock, err := TryAcquire(dir)
				if err != nil {
					t.Fatalf("after a kill at %d the lock is held: %v", n, err)
				}
				if _, err := Recover(dir); err != nil {
					t.Fatalf("kill at %d: Recover: %v", n, err)
				}
				got := snapshot(t, dir)
				if d := debris(got); len(d) > 0 {
					t.Errorf("kill at %d: left %v", n, d)
				}
				switch {
				case maps.Equal(got, before):
				case maps.Equal(got, after) && op == "tx-commit":
					sawAfter = true
				default:
					t.Fatalf("kill at %d: the tree is neither as before nor as after:\n%v\nbefore %v\nafter %v", n, got, before, after)
				}
				// The same operation, run again, succeeds.
				tx, err := Begin(dir, newFiles)
				if err != nil {
					t.Fatalf("kill at %d: the next run: %v", n, err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				lock.Release()
				if got := snapshot(t, dir); !maps.Equal(got, after) {
					t.Fatalf("kill at %d: the next run left %v, want %v", n, got, after)
				}
			}
			if op == "tx-commit" && !sawAfter {
				t.Error("no kill fell after the commit record: recovery never completed a commit")
			}
		})
	}
}

func TestCrashDuringStage(t *testing.T) {
	base := t.TempDir()
	refParent := filepath.Join(base, "ref")
	if err := stageTree(filepath.Join(refParent, "acme"), newFiles); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, filepath.Join(refParent, "acme"))
	for n := 1; ; n++ {
		parent := filepath.Join(base, strconv.Itoa(n))
		target := filepath.Join(parent, "acme")
		if !crashAt(t, "stage", target, n) {
			t.Logf("stage: killed after each of %d operations", n-1)
			break
		}
		if _, err := CleanStages(context.Background(), parent); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(parent)
		switch {
		case len(entries) == 0:
			// Nothing landed: the same run succeeds now.
			if err := stageTree(target, newFiles); err != nil {
				t.Fatalf("kill at %d: the next run: %v", n, err)
			}
		case len(entries) == 1 && entries[0].Name() == "acme":
		default:
			t.Fatalf("kill at %d: left %v", n, entries)
		}
		if got := snapshot(t, target); !maps.Equal(got, after) {
			t.Fatalf("kill at %d: the tree is %v, want %v", n, got, after)
		}
	}
}

// TestStageOfLiveRunIsKept: CleanStages removes only the stages of dead
// runs.
func TestStageOfLiveRunIsKept(t *testing.T) {
	parent := t.TempDir()
	s, err := NewStage(context.Background(), filepath.Join(parent, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	if removed, err := CleanStages(context.Background(), parent); err != nil || len(removed) > 0 {
		t.Fatalf("CleanStages removed %v (%v) while its run is alive", removed, err)
	}
	if _, err := os.Stat(s.Dir); err != nil {
		t.Fatal(err)
	}
}
