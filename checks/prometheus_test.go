package checks_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// promtool returns the path of promtool (Debian package prometheus).
func promtool(t *testing.T) string {
	t.Helper()
	return tool(t, "promtool", "/usr/bin/promtool")
}

// TestPrometheusConfigAndRules runs promtool on the local stack's Prometheus
// configuration, its alert rules and the rules' unit tests, which make each
// alert fire on bad series and stay quiet on good ones.
func TestPrometheusConfigAndRules(t *testing.T) {
	bin := promtool(t)
	for _, p := range projects(t) {
		t.Run(p.name, func(t *testing.T) {
			dir := p.path("deploy/prometheus")
			for _, args := range [][]string{
				{"check", "config", "prometheus.yml"},
				{"check", "rules", "alerts.yml"},
				{"test", "rules", "alerts_test.yml"},
			} {
				if out, err := run(t, dir, nil, bin, args...); err != nil {
					t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}

// TestPromtoolCatchesBrokenRules proves promtool fails on a rule file with a
// syntax error and on an alert whose threshold no longer matches its test.
func TestPromtoolCatchesBrokenRules(t *testing.T) {
	bin := promtool(t)
	p := projects(t)[0]
	dir := t.TempDir()
	rules := string(p.read(t, "deploy/prometheus/alerts.yml"))
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("alerts_test.yml", string(p.read(t, "deploy/prometheus/alerts_test.yml")))

	write("alerts.yml", strings.Replace(rules, "sum(rate(http_requests_total", "sum(rate(http_requests_total{", 1))
	if out, err := run(t, dir, nil, bin, "check", "rules", "alerts.yml"); err == nil {
		t.Errorf("promtool check rules accepted a broken expression:\n%s", out)
	}
	write("alerts.yml", strings.Replace(rules, "> 0.05", "> 0.5", 1))
	if out, err := run(t, dir, nil, bin, "test", "rules", "alerts_test.yml"); err == nil {
		t.Errorf("promtool test rules passed with HighErrorRate's threshold raised tenfold:\n%s", out)
	}
}

type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string            `yaml:"alert"`
			Expr   string            `yaml:"expr"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestAlertRulesUseContractMetrics checks every alert expression reads only
// the contract's metrics and labels, and that the alerts the issue asks for
// exist: error rate, p95 latency, queue backlog, pool saturation.
func TestAlertRulesUseContractMetrics(t *testing.T) {
	p := projects(t)[0]
	var rules alertRules
	if err := yaml.Unmarshal(p.read(t, "deploy/prometheus/alerts.yml"), &rules); err != nil {
		t.Fatal(err)
	}
	exprs := map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs[r.Alert] = r.Expr
			if _, problems := checkPromQL(r.Expr); len(problems) > 0 {
				t.Errorf("alert %s: %s", r.Alert, strings.Join(problems, "; "))
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("alert %s: severity %q, want page or ticket", r.Alert, s)
			}
		}
	}
	for alert, must := range map[string][]string{
		"HighErrorRate":         {"http_requests_total", `status_class="5xx"`},
		"HighLatencyP95":        {"histogram_quantile(0.95", "http_request_duration_seconds_bucket"},
		"JobQueueBacklog":       {"jobs_queue_depth"},
		"DatabasePoolSaturated": {"db_pool_acquired_connections", "db_pool_max_connections"},
	} {
		expr, ok := exprs[alert]
		if !ok {
			t.Errorf("no alert %s", alert)
			continue
		}
		for _, m := range must {
			if !strings.Contains(expr, m) {
				t.Errorf("alert %s does not use %s: %s", alert, m, expr)
			}
		}
	}
}

type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// TestPrometheusScrapesTheApp checks Prometheus scrapes the metrics listener
// (METRICS_ADDR) of every compose service that has one, and the app run by
// `make dev` on the host: web on 9464, worker on 9465 as the Makefile sets.
func TestPrometheusScrapesTheApp(t *testing.T) {
	for _, p := range projects(t) {
		t.Run(p.name, func(t *testing.T) {
			var cfg promConfig
			if err := yaml.Unmarshal(p.read(t, "deploy/prometheus/prometheus.yml"), &cfg); err != nil {
				t.Fatal(err)
			}
			var targets []string
			for _, sc := range cfg.ScrapeConfigs {
				for _, st := range sc.StaticConfigs {
					targets = append(targets, st.Targets...)
				}
			}
			c := loadCompose(t, p)
			for _, name := range []string{"app", "worker"} {
				svc, ok := c.Services[name]
				if !ok {
					t.Fatalf("compose has no service %s", name)
				}
				addr := svc.Environment["METRICS_ADDR"]
				if addr == nil || !strings.HasPrefix(*addr, ":") {
					t.Fatalf("compose service %s: METRICS_ADDR = %v, want :PORT", name, addr)
				}
				if want := name + *addr; !slices.Contains(targets, want) {
					t.Errorf("Prometheus does not scrape %s (targets %v)", want, targets)
				}
			}
			makefile := string(p.read(t, "Makefile"))
			for _, want := range []string{"host.docker.internal:9464", "host.docker.internal:9465"} {
				if !slices.Contains(targets, want) {
					t.Errorf("Prometheus does not scrape %s, the app of make dev (targets %v)", want, targets)
				}
			}
			if !strings.Contains(makefile, "METRICS_ADDR=:9465") {
				t.Error("make dev does not give the worker METRICS_ADDR=:9465, which Prometheus scrapes")
			}
		})
	}
}
