package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/saasgen/saasgen/cmd/saasgen/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"saasgen": func() { os.Exit(cli.Execute(context.Background(), os.Args[1:], cli.System(), "v0.1.0-test")) },
	})
}

// TestScripts runs the CLI scripts in testdata/script. SAASGEN_UPDATE=1
// rewrites the expected output embedded in them.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("SAASGEN_UPDATE") != "",
		Setup: func(env *testscript.Env) error {
			// No terminal and no CI marker by default; scripts set CI themselves.
			env.Setenv("CI", "")
			env.Setenv("GIT_AUTHOR_NAME", "Script Test")
			env.Setenv("GIT_AUTHOR_EMAIL", "script@example.com")
			env.Setenv("GIT_COMMITTER_NAME", "Script Test")
			env.Setenv("GIT_COMMITTER_EMAIL", "script@example.com")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status": cmdStatus,
		},
	})
}

// cmdStatus runs a command and checks its exact exit code:
//
//	status 2 saasgen new Acme
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status CODE command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("status: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
