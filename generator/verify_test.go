package generator

import (
	"strings"
	"testing"
)

func TestParseTestJSON(t *testing.T) {
	out := strings.Join([]string{
		`{"Action":"run","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"pass","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"run","Package":"p/a","Test":"TestDB"}`,
		`{"Action":"output","Package":"p/a","Test":"TestDB","Output":"=== RUN   TestDB\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestDB","Output":"redis: 2026/11/26 02:21:58 pool.go:770: a library's own log line\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestDB","Output":"    dbtest.go:59: TEST_DATABASE_URL not set: run it\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestDB","Output":"--- SKIP: TestDB (0.00s)\n"}`,
		`{"Action":"skip","Package":"p/a","Test":"TestDB"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    b_test.go:9: want 2, got 3\n"}`,
		`{"Action":"fail","Package":"p/b","Test":"TestBad"}`,
		`{"Action":"skip","Package":"p/c","Test":"TestDB2"}`,
		`{"Action":"pass","Package":"p/a"}`,
		`{"Action":"fail","Package":"p/b"}`,
		`# p/d`,
		`d.go:3:1: syntax error`,
	}, "\n")
	counts, failures := parseTestJSON([]byte(out))
	if counts.Passed != 1 || counts.Failed != 1 || len(counts.Skipped) != 2 {
		t.Fatalf("counts = %+v", counts)
	}
	if got := counts.Skipped[0]; got.Package != "p/a" || got.Test != "TestDB" || got.Reason != "TEST_DATABASE_URL not set: run it" {
		t.Errorf("first skip = %+v", got)
	}
	for _, want := range []string{"want 2, got 3", "d.go:3:1: syntax error"} {
		if !strings.Contains(failures, want) {
			t.Errorf("failure output lacks %q:\n%s", want, failures)
		}
	}
	if strings.Contains(failures, "not set") {
		t.Errorf("failure output holds a skipped test's output:\n%s", failures)
	}
	groups := groupSkipped(counts.Skipped)
	if len(groups) != 2 || groups[0].tests != 1 || groups[1].reason != "" {
		t.Errorf("groups = %+v", groups)
	}
}
