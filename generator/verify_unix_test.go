//go:build unix

package generator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVerifyInterruptKillsTestBinaries cancels a verification while the
// project's test binary runs, as Ctrl-C does, and checks that binary does not
// outlive it.
func TestVerifyInterruptKillsTestBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	files := map[string]string{
		"go.mod": "module example.com/slow\n\ngo 1.26\n",
		"slow_test.go": `package slow

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestSlow(t *testing.T) {
	os.WriteFile(` + strconv.Quote(pidFile) + `, []byte(strconv.Itoa(os.Getpid())), 0o644)
	time.Sleep(time.Minute)
}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if _, err := os.Stat(pidFile); err == nil {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	rep, err := Verify(ctx, dir, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify = %v, want context.Canceled", err)
	}
	last := rep.Steps[len(rep.Steps)-1]
	if last.Name != "test" || !last.Interrupted || last.OK {
		t.Errorf("last step = %+v, want the test step marked interrupted", last)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("test binary %d still runs after the verification was interrupted", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
