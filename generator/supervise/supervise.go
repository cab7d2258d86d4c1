// Package supervise runs the long child commands of saasgen (go build, go
// vet, go test) so that none of their processes outlives saasgen, however
// saasgen ends: cancelled, interrupted, or killed with SIGKILL.
//
// On Linux each command runs under a supervisor: saasgen's own executable
// started again in supervisor mode (see init), in a process group of its
// own, with a parent-death signal. The supervisor makes itself a child
// subreaper, so every descendant of the command (the go command's compilers,
// vet tools and test binaries, and anything they leave behind) is either in
// the command's process group or is reparented to the supervisor. When the
// command ends, when saasgen cancels, or when saasgen dies (the kernel sends
// the parent-death signal), the supervisor kills the command's process group
// and every remaining descendant, reaps them, and only then exits. Elsewhere
// the command runs in its own process group, killed as a whole on cancel.
//
// Any program that imports this package supports supervisor mode through
// its init function, test binaries included; a library user whose program
// does not import it (it always does through package generator) gets the
// process-group fallback.
package supervise

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"time"
)

// Environment variables of supervisor mode: set for the supervisor only,
// never passed on to the command it runs.
const (
	envSupervisor = "SAASGEN_SUPERVISOR"        // "1" in the supervisor
	envParent     = "SAASGEN_SUPERVISOR_PARENT" // saasgen's pid, to detect a parent already gone
)

// waitDelay bounds how long a cancelled command's output is awaited.
const waitDelay = 5 * time.Second

// Output runs name with args in dir under supervision and returns its
// combined standard output and error. A cancelled ctx stops the command and
// all of its descendants.
func Output(ctx context.Context, dir string, name string, args ...string) ([]byte, error) {
	cmd := command(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = waitDelay
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

// childEnv is the environment of the supervised command: saasgen's, less
// supervisor mode.
func childEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !hasKey(kv, envSupervisor) && !hasKey(kv, envParent) {
			out = append(out, kv)
		}
	}
	return out
}

func hasKey(kv, key string) bool {
	return len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '='
}

// direct is the fallback: the command in its own process group, the whole
// group killed when ctx is cancelled.
func direct(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = childEnv()
	killGroupOnCancel(cmd)
	return cmd
}
