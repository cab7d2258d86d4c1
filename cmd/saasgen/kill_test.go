//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/saasgen/saasgen/generator/gentest"
)

// These tests kill saasgen with SIGKILL (kill -9) at random moments and
// check that the same command, run again, succeeds (or says exactly what to
// run) and that nothing of the killed run is left: no staging directory,
// journal or temporary file, and no process it started.

// debrisIn lists what a saasgen run may leave under dir.
func debrisIn(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		base := d.Name()
		if strings.HasPrefix(base, ".saasgen-") || strings.HasSuffix(base, ".saasgen-new") || strings.HasSuffix(base, ".saasgen-old") {
			out = append(out, p)
		}
		if d.IsDir() && base == ".git" {
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// killAfter starts cmd and kills it with SIGKILL after delay (or lets it
// finish first); it reports whether it was killed.
func killAfter(t *testing.T, cmd *exec.Cmd, delay time.Duration) bool {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("finished before the kill: %v\n%s", err, out.String())
		}
		return false
	case <-time.After(delay):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return true
	}
}

// processesIn lists the processes whose working directory is under dir
// (the go commands and test binaries of a verification run there).
func processesIn(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd")
		if err != nil || !strings.HasPrefix(cwd, dir) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

// waitNoProcessesIn waits until no process works in dir: the supervisor
// kills them within milliseconds of saasgen's death; left alone, a go build
// or test would run on for seconds.
func waitNoProcessesIn(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		procs := processesIn(dir)
		if len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of the killed run survive:\n%s", strings.Join(procs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func run1(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestKill9DuringNew(t *testing.T) {
	if testing.Short() {
		t.Skip("runs saasgen repeatedly")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 8 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			parent := t.TempDir()
			delay := time.Duration(rng.IntN(1500)) * time.Millisecond
			args := []string{"new", "acme", "--yes", "--skip-verify"}
			killed := killAfter(t, saasgenCmd(parent, args...), delay)
			out, err := run1(t, saasgenCmd(parent, args...))
			switch {
			case err == nil:
			case strings.Contains(out, "exists and is not empty"):
				// The killed run had landed its tree (with its commit,
				// made before the tree appears): complete.
				if _, err := os.Stat(filepath.Join(parent, "acme", ".git")); err != nil {
					t.Fatalf("killed after %s: the tree landed without its commit", delay)
				}
			default:
				t.Fatalf("killed after %s (killed=%v): the same command again: %v\n%s", delay, killed, err, out)
			}
			if _, err := os.Stat(filepath.Join(parent, "acme", "saasgen.yaml")); err != nil {
				t.Fatalf("no project after the second run: %v", err)
			}
			if d := debrisIn(t, parent); len(d) > 0 {
				t.Errorf("killed after %s: left %v", delay, d)
			}
		})
	}
}

func TestKill9DuringAddModule(t *testing.T) {
	gentest.RequireModules(t) // the killed runs verify
	base := t.TempDir()
	if out, err := run1(t, saasgenCmd(base, "new", "acme", "--yes", "--skip-verify", "--module", "example.com/acme")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 8 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "acme")
			if out, err := exec.Command("cp", "-a", filepath.Join(base, "acme"), dir).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			// Up to 4 s: the write, and the verification (go build, vet,
			// test) that follows it.
			delay := time.Duration(rng.IntN(4000)) * time.Millisecond
			if killAfter(t, saasgenCmd(dir, "add", "module", "billing"), delay) {
				t.Logf("killed after %s", delay)
			}
			waitNoProcessesIn(t, dir)
			out, err := run1(t, saasgenCmd(dir, "add", "module", "billing", "--skip-verify"))
			if err != nil {
				t.Fatalf("killed after %s: the same add module again: %v\n%s", delay, err, out)
			}
			if d := debrisIn(t, dir); len(d) > 0 {
				t.Errorf("killed after %s: left %v", delay, d)
			}
			man, _ := os.ReadFile(filepath.Join(dir, "saasgen.yaml"))
			if strings.Count(string(man), "  - billing\n") != 1 {
				t.Errorf("saasgen.yaml lists billing %d times:\n%s", strings.Count(string(man), "  - billing\n"), man)
			}
			migrations, _ := filepath.Glob(filepath.Join(dir, "internal", "modules", "billing", "migrations", "*.sql"))
			// The module template's two migrations (create, count notes),
			// once each.
			if len(migrations) != 2 {
				t.Errorf("billing has migrations %v, want its two", migrations)
			}
			if st, _ := exec.Command("git", "-C", dir, "status", "--porcelain", "--ignored").Output(); bytes.Contains(st, []byte(".saasgen")) {
				t.Errorf("git status shows saasgen's files:\n%s", st)
			}
		})
	}
}

// TestSIGTERMDuringRender: a long render (the largest project accepted)
// stops promptly on SIGTERM, exits 130 and writes nothing.
func TestSIGTERMDuringRender(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a large project")
	}
	parent := t.TempDir()
	var answers strings.Builder
	answers.WriteString("name: big\nmodules:\n")
	for i := range 1000 {
		fmt.Fprintf(&answers, "  - m%d\n", i)
	}
	config := filepath.Join(parent, "big.yaml")
	os.WriteFile(config, []byte(answers.String()), 0o644)
	cmd := saasgenCmd(parent, "new", "--config", config, "--yes", "--skip-verify", "--no-git")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(out.String(), "render templates ...") {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("after SIGTERM: %v, want exit 130\n%s", err, out.String())
	}
	if took > 2*time.Second {
		t.Errorf("exited %s after SIGTERM", took)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Errorf("wrote %v", entries)
	}
}

// TestKill9DuringUpgrade: an upgrade killed at any moment leaves the tree
// as it was or, once its transaction's commit record is written, upgraded;
// the next upgrade recovers it and ends with the tree an uninterrupted
// upgrade makes.
func TestKill9DuringUpgrade(t *testing.T) {
	base := t.TempDir()
	if out, err := run1(t, saasgenCmd(base, "new", "acme", "--yes", "--skip-verify", "--module", "example.com/acme", "--templates-revision", legacyRevision)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	project := filepath.Join(base, "acme")
	copyProject := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "acme")
		if out, err := exec.Command("cp", "-a", project, dir).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return dir
	}
	before := treeOf(t, project)
	ref := copyProject(t)
	start := time.Now()
	if out, err := run1(t, saasgenCmd(ref, "upgrade", "--skip-verify")); err != nil {
		t.Fatalf("upgrade: %v\n%s", err, out)
	}
	// The kills are spread over the length of an uninterrupted run on this
	// machine now (it starts, checks git status and renders, then writes):
	// one delay in each of the equal slices of that time, so that some fall
	// inside the transaction however fast or loaded the machine is.
	took := time.Since(start)
	after := treeOf(t, ref)
	rng := rand.New(rand.NewPCG(5, 6))
	sawBefore, sawAfter, recovered := false, false, 0
	const kills = 20
	for i := range kills {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dir := copyProject(t)
			delay := time.Duration((float64(i) + rng.Float64()) / kills * float64(took))
			killAfter(t, saasgenCmd(dir, "upgrade", "--skip-verify"), delay)
			out, err := run1(t, saasgenCmd(dir, "upgrade", "--skip-verify"))
			if strings.Contains(out, "found the transaction of an interrupted saasgen run") {
				recovered++
			}
			switch {
			case err == nil:
				sawBefore = true
			case strings.Contains(out, "has uncommitted changes"):
				sawAfter = true // the killed run had committed: the tree is upgraded
			default:
				t.Fatalf("killed after %s: the next upgrade: %v\n%s", delay, err, out)
			}
			if d := debrisIn(t, dir); len(d) > 0 {
				t.Errorf("killed after %s: left %v", delay, d)
			}
			got := treeOf(t, dir)
			if fmt.Sprint(got) != fmt.Sprint(after) {
				t.Logf("the next upgrade said:\n%s", out)
			}
			for p, want := range after {
				if got[p] != want {
					t.Errorf("killed after %s, then upgraded: %s differs from an uninterrupted upgrade", delay, p)
				}
			}
			for p := range got {
				if _, ok := after[p]; !ok {
					t.Errorf("killed after %s, then upgraded: %s is left over", delay, p)
				}
			}
		})
	}
	t.Logf("the next upgrade found the tree as before: %v, upgraded: %v; it recovered %d killed transactions", sawBefore, sawAfter, recovered)
	if recovered == 0 {
		t.Error("no kill fell inside the upgrade's transaction")
	}
	if len(before) == len(after) && fmt.Sprint(before) == fmt.Sprint(after) {
		t.Fatal("the upgrade changed nothing: the test proves nothing")
	}
}

// treeOf maps every file under dir, .git aside, to its mode and content.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = fi.Mode().String() + " " + string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
