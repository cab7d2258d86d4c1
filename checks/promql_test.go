package checks_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// grafanaVariables are the Grafana variables the dashboard may use, with a
// value that makes the expression valid PromQL for the parser.
var grafanaVariables = strings.NewReplacer(
	"$__rate_interval", "5m",
	"$__interval", "1m",
	"$__range", "1h",
)

// promqlParser parses PromQL as Prometheus does by default: no experimental
// functions, the standard function set.
var promqlParser = parser.NewParser(parser.Options{})

// promqlUse is what an expression reads: its series names and the labels it
// matches on or groups by, per series.
type promqlUse struct {
	series map[string]bool
}

// checkPromQL parses expr and returns its problems: a parse error, a series
// the contract does not list, a label matched or grouped by that none of the
// aggregated series carries.
func checkPromQL(expr string) (promqlUse, []string) {
	use := promqlUse{series: map[string]bool{}}
	e, err := promqlParser.ParseExpr(grafanaVariables.Replace(expr))
	if err != nil {
		return use, []string{fmt.Sprintf("does not parse: %v", err)}
	}
	var problems []string
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				problems = append(problems, "a selector without a metric name: "+n.String())
				return nil
			}
			use.series[n.Name] = true
			labels, ok := metricLabels(n.Name)
			if !ok {
				problems = append(problems, fmt.Sprintf("series %s is not a metric of the contract", n.Name))
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" && !slices.Contains(labels, m.Name) {
					problems = append(problems, fmt.Sprintf("%s has no label %q (it has %s)", n.Name, m.Name, strings.Join(labels, ", ")))
				}
			}
		case *parser.AggregateExpr:
			// Grouping labels must exist on some series aggregated.
			var allowed []string
			parser.Inspect(n.Expr, func(inner parser.Node, _ []parser.Node) error {
				if vs, ok := inner.(*parser.VectorSelector); ok {
					if labels, ok := metricLabels(vs.Name); ok {
						allowed = append(allowed, labels...)
					}
				}
				return nil
			})
			for _, g := range n.Grouping {
				if !slices.Contains(allowed, g) {
					problems = append(problems, fmt.Sprintf("%s groups by %q, a label none of its series has", n.Op, g))
				}
			}
		}
		return nil
	})
	return use, problems
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestPromQLChecksCatchMistakes proves checkPromQL is not a no-op: a typo in
// a metric name, a label the metric lacks, a grouping on a missing label and
// broken syntax are each reported.
func TestPromQLChecksCatchMistakes(t *testing.T) {
	for expr, want := range map[string]string{
		`sum(rate(http_request_total[5m]))`:                                    "not a metric of the contract",
		`sum(rate(http_requests_total{path="/x"}[5m]))`:                        `no label "path"`,
		`sum by (tenant_id) (rate(http_requests_total[$__rate_interval]))`:     `groups by "tenant_id"`,
		`sum(rate(http_requests_total[5m])`:                                    "does not parse",
		`histogram_quantile(0.9, rate(http_request_duration_seconds[5m]))`:     "not a metric of the contract",
		`sum by (le) (rate(http_request_duration_seconds_bucket{le="1"}[5m]))`: "",
	} {
		_, problems := checkPromQL(expr)
		got := strings.Join(problems, "; ")
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("checkPromQL(%s) = %q, want %q", expr, got, want)
		}
	}
}
