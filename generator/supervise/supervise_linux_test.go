//go:build linux

package supervise

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as saasgen running a supervised
// command (TestHelperSaasgen), so the test can kill it with SIGKILL.
const helperEnv = "SUPERVISE_TEST_HELPER_DIR"

// TestHelperSaasgen is not a test: run by TestKilledParentLeavesNoProcess
// as the process that is killed. It runs a shell that starts a child in its
// process group and one in a session of its own (out of the group, as a
// daemon would), records their pids, and waits.
func TestHelperSaasgen(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	script := `sleep 600 & echo $! > grouped; setsid sleep 600 & echo $! > escaped; echo $$ > shell; wait`
	Output(context.Background(), dir, "sh", "-c", script)
}

// TestKilledParentLeavesNoProcess kills the process running a supervised
// command with SIGKILL, as a user's kill -9 of saasgen does, at several
// moments, and checks that no process it started survives: neither the
// command, nor its children in its group, nor one that left the group.
func TestKilledParentLeavesNoProcess(t *testing.T) {
	for i := range 3 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dir := t.TempDir()
			helper := exec.Command(os.Args[0], "-test.run=^TestHelperSaasgen$", "-test.count=1")
			helper.Env = append(os.Environ(), helperEnv+"="+dir)
			if err := helper.Start(); err != nil {
				t.Fatal(err)
			}
			pids := waitPids(t, dir, "shell", "grouped", "escaped")
			time.Sleep(time.Duration(i) * 50 * time.Millisecond)
			helper.Process.Signal(syscall.SIGKILL)
			helper.Wait()
			for name, pid := range pids {
				waitGone(t, name, pid)
			}
		})
	}
}

// TestCancelLeavesNoProcess cancels a supervised command, as Ctrl-C does.
func TestCancelLeavesNoProcess(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Output(ctx, dir, "sh", "-c", `sleep 600 & echo $! > grouped; setsid sleep 600 & echo $! > escaped; echo $$ > shell; wait`)
		done <- err
	}()
	pids := waitPids(t, dir, "shell", "grouped", "escaped")
	cancel()
	if err := <-done; err == nil {
		t.Error("a cancelled command reported success")
	}
	for name, pid := range pids {
		waitGone(t, name, pid)
	}
}

// TestExitCodeAndOutput: the supervisor passes the command's output and exit
// code through, and cleans up what the command left running.
func TestExitCodeAndOutput(t *testing.T) {
	dir := t.TempDir()
	out, err := Output(context.Background(), dir, "sh", "-c", `setsid sleep 600 & echo $! > escaped; echo hello; echo oops >&2; exit 3`)
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("err = %v, want exit status 3", err)
	}
	if got := string(out); !strings.Contains(got, "hello") || !strings.Contains(got, "oops") {
		t.Errorf("output = %q", got)
	}
	pids := waitPids(t, dir, "escaped")
	waitGone(t, "escaped", pids["escaped"])
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func waitPids(t *testing.T, dir string, names ...string) map[string]int {
	t.Helper()
	pids := map[string]int{}
	deadline := time.Now().Add(20 * time.Second)
	for len(pids) < len(names) {
		if time.Now().After(deadline) {
			t.Fatalf("the command did not record its pids: %v", pids)
		}
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
				pids[n] = pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return pids
}

// waitGone waits for pid to be gone (or a zombie about to be reaped).
func waitGone(t *testing.T, name string, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s (pid %d) survived", name, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
