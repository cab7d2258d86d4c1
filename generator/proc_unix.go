//go:build unix

package generator

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel runs cmd in its own process group and, when its context
// is cancelled, kills the whole group: the go command and the test binaries
// it started, which would otherwise outlive an interrupted saasgen.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
