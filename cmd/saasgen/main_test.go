package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/saasgen/saasgen/generator"
	"github.com/saasgen/saasgen/generator/gentest"
	"github.com/saasgen/saasgen/generator/history"
	"github.com/saasgen/saasgen/templates"
)

// testVersion is the version the test binary reports as saasgen.
const testVersion = "v0.1.0-test"

// runAsSaasgen makes the test binary run as saasgen (see saasgenCmd).
const runAsSaasgen = "SAASGEN_TEST_RUN_AS_SAASGEN"

// currentRevision is the template revision of the embedded templates.
var currentRevision = func() string {
	tree, err := history.ReadTree(templates.FS, generator.ProjectTree, generator.ModuleTree)
	if err != nil {
		panic(err)
	}
	return history.TreeID(tree)
}()

// legacyRevision is the template revision of projects that record none.
var legacyRevision = func() string {
	st, err := history.Embedded()
	if err != nil {
		panic(err)
	}
	rev, ok := st.Legacy()
	if !ok {
		panic("no legacy template revision")
	}
	return rev.ID
}()

func TestMain(m *testing.M) {
	if os.Getenv(runAsSaasgen) == "1" {
		os.Exit(run(testVersion))
	}
	testscript.Main(m, map[string]func(){
		"saasgen": func() { os.Exit(run(testVersion)) },
	})
}

// saasgenCmd is saasgen, run by the test binary itself, for tests that
// signal or kill it.
func saasgenCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runAsSaasgen+"=1", "CI=true")
	return cmd
}

// TestScripts runs the CLI scripts in testdata/script. SAASGEN_UPDATE=1
// rewrites the expected output embedded in them, then fails, so that an
// update is never committed unread.
func TestScripts(t *testing.T) {
	if update {
		t.Cleanup(func() {
			t.Errorf("SAASGEN_UPDATE: the scripts' expected output was rewritten where it differed; read the diff (git diff -- cmd/saasgen/testdata) and run the tests again without SAASGEN_UPDATE")
		})
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       update,
		Setup: func(env *testscript.Env) error {
			// No terminal and no CI marker by default; scripts set CI themselves.
			env.Setenv("CI", "")
			env.Setenv("GIT_AUTHOR_NAME", "Script Test")
			env.Setenv("GIT_AUTHOR_EMAIL", "script@example.com")
			env.Setenv("GIT_COMMITTER_NAME", "Script Test")
			env.Setenv("GIT_COMMITTER_EMAIL", "script@example.com")
			// The current template revision, which saasgen.yaml records.
			env.Setenv("TEMPLATES", currentRevision)
			// The legacy revision: what saasgen generated before it recorded
			// revisions (upgrade scripts start from it).
			env.Setenv("LEGACY", legacyRevision)
			// saasgen verify runs the go command: give it the caches and
			// module proxy of the host so nothing is downloaded twice.
			for k, v := range goEnv {
				env.Setenv(k, v)
			}
			return nil
		},
		// [modules]: the generated project's modules can be had (cache or
		// proxy); scripts that verify a project skip without them, and
		// fail under TEST_REQUIRE_SERVICES=1.
		Condition: func(cond string) (bool, error) {
			if cond != "modules" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			ok, why := gentest.ModulesAvailable()
			if !ok && gentest.ServicesRequired() {
				return false, errors.New(why)
			}
			return ok, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":    cmdStatus,
			"validjson": cmdValidJSON,
		},
	})
}

// update is SAASGEN_UPDATE: rewrite expected output instead of comparing.
var update = os.Getenv("SAASGEN_UPDATE") != ""

// goEnv is the host's go environment that scripts running the go command need.
var goEnv = func() map[string]string {
	keys := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOTOOLCHAIN"}
	out, err := exec.Command("go", append([]string{"env", "-json"}, keys...)...).Output()
	if err != nil {
		panic(fmt.Sprintf("go env: %v", err))
	}
	env := map[string]string{}
	if err := json.Unmarshal(out, &env); err != nil {
		panic(err)
	}
	return env
}()

// cmdValidJSON checks that a file (or stdout/stderr) holds exactly one JSON
// document:
//
//	validjson stdout
func cmdValidJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: validjson FILE")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(args[0])))
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		err = fmt.Errorf("more than one JSON document")
	}
	if neg != (err != nil) {
		ts.Fatalf("validjson %s: %v", args[0], err)
	}
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
