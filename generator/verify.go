package generator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/saasgen/saasgen/generator/supervise"
)

// ServicesHint is the one command that runs the generated tests needing
// PostgreSQL and Redis (and, under TEST_REQUIRE_SERVICES=1, fails instead of
// skipping any that cannot reach a service).
const ServicesHint = "TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' TEST_REDIS_URL='redis://127.0.0.1:6379/0' TEST_REQUIRE_SERVICES=1 go test ./..."

// Event reports progress of a long step to whoever shows it.
type Event struct {
	Step    string        // e.g. "go build ./..."
	Done    bool          // false when the step starts
	Elapsed time.Duration // when Done
	Err     error         // when Done and the step failed
}

// Progress receives events; nil means nobody listens.
type Progress func(Event)

func (p Progress) step(name string, fn func() error) error {
	if p != nil {
		p(Event{Step: name})
	}
	start := time.Now()
	err := fn()
	if p != nil {
		p(Event{Step: name, Done: true, Elapsed: time.Since(start), Err: err})
	}
	return err
}

// StepResult is one verification step.
type StepResult struct {
	Name     string        `json:"name"`
	Command  string        `json:"command"`
	Duration time.Duration `json:"duration_ns"`
	OK       bool          `json:"ok"`
	// Interrupted is set when the run was cancelled during this step.
	Interrupted bool   `json:"interrupted,omitempty"`
	Output      string `json:"output,omitempty"` // on failure
}

// SkippedTest is a test the generated suite skipped, with its reason.
type SkippedTest struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	Reason  string `json:"reason"`
}

// TestCounts sums the generated suite's results.
type TestCounts struct {
	Passed  int           `json:"passed"`
	Failed  int           `json:"failed"`
	Skipped []SkippedTest `json:"skipped"`
}

// Report is the result of verifying a generated project.
type Report struct {
	Dir   string       `json:"dir"`
	Steps []StepResult `json:"steps"`
	Tests TestCounts   `json:"tests"`
	// RunSkipped is the command that runs the skipped tests, set when some were.
	RunSkipped string `json:"run_skipped,omitempty"`
}

// OK reports whether every step passed.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if !s.OK {
			return false
		}
	}
	return len(r.Steps) > 0
}

// VerifyError is a verification that ran and failed: the project does not
// build, vet or pass its tests.
type VerifyError struct{ Report *Report }

func (e *VerifyError) Error() string {
	for _, s := range e.Report.Steps {
		if !s.OK {
			return fmt.Sprintf("verification failed at %q in %s", s.Command, e.Report.Dir)
		}
	}
	return "verification failed"
}

// Verify downloads the modules of the Go project in dir, then builds, vets and
// tests it, the way its CI would.
// Tests run with the caller's environment, so TEST_DATABASE_URL and
// TEST_REQUIRE_SERVICES pass through. The report lists every step with its
// time, the test counts and the skipped tests; a failed step stops the run
// and returns a *VerifyError carrying the report.
func Verify(ctx context.Context, dir string, progress Progress) (*Report, error) {
	r := &Report{Dir: dir}
	steps := []struct {
		name string
		args []string
	}{
		{"download", []string{"mod", "download"}},
		{"build", []string{"build", "./..."}},
		{"vet", []string{"vet", "./..."}},
		{"test", []string{"test", "-json", "./..."}},
	}
	for _, s := range steps {
		cmdline := "go " + strings.Join(s.args, " ")
		res := StepResult{Name: s.name, Command: cmdline}
		var out []byte
		start := time.Now()
		err := progress.step(cmdline, func() error {
			var err error
			out, err = runGo(ctx, dir, s.args...)
			return err
		})
		res.Duration = time.Since(start).Round(time.Millisecond)
		if s.name == "test" {
			var failures string
			r.Tests, failures = parseTestJSON(out)
			if len(r.Tests.Skipped) > 0 {
				r.RunSkipped = ServicesHint
			}
			if err != nil {
				out = []byte(failures)
			}
		}
		res.OK = err == nil
		if ctx.Err() != nil {
			res.OK, res.Interrupted = false, true
			r.Steps = append(r.Steps, res)
			return r, ctx.Err()
		}
		if err != nil {
			res.Output = tail(string(out), 200)
			if res.Output == "" {
				res.Output = err.Error()
			}
		}
		r.Steps = append(r.Steps, res)
		if err != nil {
			return r, &VerifyError{Report: r}
		}
	}
	return r, nil
}

// runGo runs the go command in dir under a supervisor (see package
// supervise): no build, vet or test process outlives saasgen, even when
// saasgen is killed.
func runGo(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return supervise.Output(ctx, dir, "go", args...)
}

// testEvent is one line of `go test -json` (cmd/test2json).
type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// parseTestJSON counts test results and returns the output of every failed
// test and package (build failures included) as plain text.
func parseTestJSON(out []byte) (TestCounts, string) {
	var counts TestCounts
	outputs := map[[2]string]*strings.Builder{}
	var failed [][2]string
	var plain strings.Builder // lines that are not JSON: build errors
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		var ev testEvent
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			plain.Write(line)
			plain.WriteByte('\n')
			continue
		}
		key := [2]string{ev.Package, ev.Test}
		switch ev.Action {
		case "output":
			b := outputs[key]
			if b == nil {
				b = &strings.Builder{}
				outputs[key] = b
			}
			b.WriteString(ev.Output)
		case "pass":
			if ev.Test != "" {
				counts.Passed++
			}
		case "fail":
			if ev.Test != "" {
				counts.Failed++
			}
			failed = append(failed, key)
		case "skip":
			if ev.Test != "" {
				counts.Skipped = append(counts.Skipped, SkippedTest{Package: ev.Package, Test: ev.Test, Reason: skipReason(outputs[key])})
			}
		}
	}
	var report strings.Builder
	report.WriteString(plain.String())
	for _, k := range failed {
		if b := outputs[k]; b != nil {
			report.WriteString(b.String())
		}
	}
	slices.SortFunc(counts.Skipped, func(a, b SkippedTest) int {
		return strings.Compare(a.Package+"."+a.Test, b.Package+"."+b.Test)
	})
	return counts, report.String()
}

// fileLineRE matches the "file.go:12: " prefix of t.Log and t.Skip output.
var fileLineRE = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// skipReason extracts the message a test passed to t.Skip from its output:
// the test's own lines, which the testing package indents. What the
// package's code wrote straight to stdout or stderr meanwhile (a library's
// log line, at column 0) is not the reason.
func skipReason(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	var reason []string
	for _, line := range strings.Split(b.String(), "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		t := strings.TrimSpace(line)
		if !indented || t == "" || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		reason = append(reason, fileLineRE.ReplaceAllString(t, ""))
	}
	return strings.Join(reason, " ")
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("... (%d lines before)", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

// WriteText prints the report for a person.
func (r *Report) WriteText(w io.Writer) {
	for _, s := range r.Steps {
		status := "ok"
		switch {
		case s.Interrupted:
			status = "INTERRUPTED"
		case !s.OK:
			status = "FAILED"
		}
		fmt.Fprintf(w, "  %-22s %-6s %s\n", s.Command, status, s.Duration.Round(10*time.Millisecond))
		if !s.OK && !s.Interrupted {
			fmt.Fprintf(w, "%s\n", indent(s.Output, "    "))
		}
	}
	if n := len(r.Steps); n > 0 && r.Steps[n-1].Name == "test" {
		fmt.Fprintf(w, "  tests: %d passed, %d failed, %d skipped\n", r.Tests.Passed, r.Tests.Failed, len(r.Tests.Skipped))
	}
	if len(r.Tests.Skipped) > 0 {
		fmt.Fprintf(w, "  skipped (they need a service that is not configured):\n")
		for _, g := range groupSkipped(r.Tests.Skipped) {
			fmt.Fprintf(w, "    %s in %s: %s\n", plural(g.tests, "test"), plural(len(g.packages), "package"), g.reason)
		}
		fmt.Fprintf(w, "  run them with:\n    %s\n", r.RunSkipped)
	}
}

type skipGroup struct {
	reason   string
	tests    int
	packages map[string]bool
}

// groupSkipped folds skipped tests by reason, in order of first appearance,
// so twenty tests waiting for one database read as one line.
func groupSkipped(skipped []SkippedTest) []*skipGroup {
	var groups []*skipGroup
	byReason := map[string]*skipGroup{}
	for _, s := range skipped {
		g := byReason[s.Reason]
		if g == nil {
			g = &skipGroup{reason: s.Reason, packages: map[string]bool{}}
			byReason[s.Reason] = g
			groups = append(groups, g)
		}
		g.tests++
		g.packages[s.Package] = true
	}
	return groups
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// plural is n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
