package merge

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitMergeFile merges with git merge-file: its output and conflict count.
func gitMergeFile(t *testing.T, base, ours, theirs []byte) ([]byte, int) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string][]byte{"base": base, "ours": ours, "theirs": theirs} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("git", "merge-file", "-p", "-L", "ours", "-L", "base", "-L", "theirs", "ours", "base", "theirs")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &ee) && ee.ExitCode() > 0 && ee.ExitCode() < 128:
		return out, ee.ExitCode()
	}
	t.Fatalf("git merge-file: %v\n%s", err, stderr.Bytes())
	return nil, 0
}

// edit changes lines at random: deletions, replacements, insertions of new
// lines (named by tag, so each side's are its own) and, with shared, the
// same change on both sides.
func edit(r *rand.Rand, lines []string, tag string, n int) []string {
	out := append([]string(nil), lines...)
	for e := range n {
		if len(out) == 0 {
			out = append(out, fmt.Sprintf("%s new %d\n", tag, e))
			continue
		}
		i := r.IntN(len(out))
		switch r.IntN(3) {
		case 0:
			j := min(len(out), i+1+r.IntN(3))
			out = append(out[:i], out[j:]...)
		case 1:
			out[i] = fmt.Sprintf("%s changed %d %s", tag, e, out[i])
		default:
			ins := []string{}
			for k := range 1 + r.IntN(3) {
				ins = append(ins, fmt.Sprintf("%s new %d.%d\n", tag, e, k))
			}
			out = append(out[:i], append(ins, out[i:]...)...)
		}
	}
	return out
}

func join(lines []string) []byte { return []byte(strings.Join(lines, "")) }

// TestMergeAgreesWithGit merges thousands of generated cases with Merge
// and with git merge-file: the same result, byte for byte, and the same
// number of conflicts.
func TestMergeAgreesWithGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to check the merge against git merge-file")
	}
	r := rand.New(rand.NewPCG(1, 2))
	cases := 2000
	if testing.Short() {
		cases = 300
	}
	conflicted, clean, ambiguous := 0, 0, 0
	for c := range cases {
		var base []string
		for i := range 5 + r.IntN(40) {
			switch r.IntN(6) {
			case 0:
				base = append(base, "\n") // repeated lines, as in code
			case 1:
				base = append(base, "}\n")
			default:
				base = append(base, fmt.Sprintf("line %d of case %d\n", i, c))
			}
		}
		ours := edit(r, base, "ours", r.IntN(4))
		theirs := edit(r, base, "theirs", r.IntN(4))
		if r.IntN(5) == 0 { // a change both sides made
			theirs = append([]string(nil), ours...)
			theirs = edit(r, theirs, "theirs", r.IntN(2))
		}
		b, o, th := join(base), join(ours), join(theirs)
		want, wantN := gitMergeFile(t, b, o, th)
		got := Merge(b, o, th, Labels{Ours: "ours", Theirs: "theirs"})
		// Where lines repeat, two shortest diffs can align differently and
		// conflicts be drawn differently (git's diff has its own
		// heuristics): then both must find conflicts, or merge alike.
		same := bytes.Equal(got.Content, want) && got.Conflicts == wantN
		if !same && repeats(base) && got.Conflicts > 0 && wantN > 0 {
			ambiguous++
			same = true
		}
		if !same {
			t.Fatalf("case %d: Merge differs from git merge-file (conflicts %d, git %d)\nbase:\n%s\nours:\n%s\ntheirs:\n%s\ngot:\n%s\ngit:\n%s", c, got.Conflicts, wantN, b, o, th, got.Content, want)
		}
		if wantN > 0 {
			conflicted++
		} else {
			clean++
		}
	}
	t.Logf("%d cases: %d clean, %d with conflicts (%d drawn differently among repeated lines)", cases, clean, conflicted, ambiguous)
	if ambiguous > cases/10 {
		t.Errorf("%d of %d cases drawn differently from git", ambiguous, cases)
	}
	if conflicted == 0 || clean == 0 {
		t.Fatal("the generated cases do not cover both clean merges and conflicts")
	}
}

func TestMergeRules(t *testing.T) {
	base := "a\nb\nc\nd\ne\nf\ng\nh\n"
	for _, tc := range []struct {
		name, ours, theirs, want string
		conflicts                int
	}{
		{"untouched takes theirs", base, "a\nB\nc\nd\ne\nf\ng\nh\n", "a\nB\nc\nd\ne\nf\ng\nh\n", 0},
		{"only ours changed", "a\nb\nc\nD\ne\nf\ng\nh\n", base, "a\nb\nc\nD\ne\nf\ng\nh\n", 0},
		{"both, apart", "A\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\ne\nf\ng\nH\n", "A\nb\nc\nd\ne\nf\ng\nH\n", 0},
		{"both, the same", "a\nX\nc\nd\ne\nf\ng\nh\n", "a\nX\nc\nd\ne\nf\ng\nh\n", "a\nX\nc\nd\ne\nf\ng\nh\n", 0},
		{"overlap", "a\nb\nOURS\nd\ne\nf\ng\nh\n", "a\nb\nTHEIRS\nd\ne\nf\ng\nh\n", "a\nb\n<<<<<<< ours\nOURS\n=======\nTHEIRS\n>>>>>>> theirs\nd\ne\nf\ng\nh\n", 1},
		{"no final newline", "a\nb\nc\nd\ne\nf\ng\nh\nours", "a\nb\nc\nd\ne\nf\ng\nh\ntheirs", "a\nb\nc\nd\ne\nf\ng\nh\n<<<<<<< ours\nours\n=======\ntheirs\n>>>>>>> theirs\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Merge([]byte(base), []byte(tc.ours), []byte(tc.theirs), Labels{Ours: "ours", Theirs: "theirs"})
			if string(got.Content) != tc.want || got.Conflicts != tc.conflicts {
				t.Errorf("got %d conflicts:\n%s\nwant %d:\n%s", got.Conflicts, got.Content, tc.conflicts, tc.want)
			}
			git, n := gitMergeFile(t, []byte(base), []byte(tc.ours), []byte(tc.theirs))
			if string(git) != tc.want || n != tc.conflicts {
				t.Errorf("git merge-file gives %d conflicts:\n%s", n, git)
			}
		})
	}
}

func repeats(lines []string) bool {
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l] {
			return true
		}
		seen[l] = true
	}
	return false
}

// TestUnifiedAppliesWithGit checks the unified diffs with git apply: each
// turns its old version into its new one.
func TestUnifiedAppliesWithGit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for c := range 100 {
		var base []string
		for i := range 1 + r.IntN(60) {
			base = append(base, fmt.Sprintf("line %d\n", i))
		}
		changed := edit(r, base, "new", 1+r.IntN(5))
		a, b := join(base), join(changed)
		d := Unified(a, b, "a/f", "b/f")
		if bytes.Equal(a, b) != (d == nil) {
			t.Fatalf("case %d: a diff of %d bytes between versions equal=%v", c, len(d), bytes.Equal(a, b))
		}
		if d == nil {
			continue
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "f"), a, 0o644)
		os.WriteFile(filepath.Join(dir, "p.diff"), d, 0o644)
		cmd := exec.Command("git", "apply", "p.diff")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("case %d: git apply: %v\n%s\n%s", c, err, out, d)
		}
		got, _ := os.ReadFile(filepath.Join(dir, "f"))
		if !bytes.Equal(got, b) {
			t.Fatalf("case %d: applied diff gives\n%s\nwant\n%s\ndiff:\n%s", c, got, b, d)
		}
	}
}
