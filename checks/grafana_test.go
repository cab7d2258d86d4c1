package checks_test

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type dashboardPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

type dashboard struct {
	UID    string           `json:"uid"`
	Title  string           `json:"title"`
	Panels []dashboardPanel `json:"panels"`
}

// TestGrafanaDashboard parses the provisioned dashboard and checks every
// panel's PromQL parses and reads only the contract's metrics and labels,
// panels use a provisioned data source, and the dashboard shows what the
// issue asks: RED per route, pool saturation, queue depth and failures,
// rate-limit rejections and N+1 budget hits.
func TestGrafanaDashboard(t *testing.T) {
	for _, p := range projects(t) {
		t.Run(p.name, func(t *testing.T) {
			var ds struct {
				APIVersion  int `yaml:"apiVersion"`
				Datasources []struct {
					UID  string `yaml:"uid"`
					Type string `yaml:"type"`
					URL  string `yaml:"url"`
				} `yaml:"datasources"`
			}
			if err := yaml.Unmarshal(p.read(t, "deploy/grafana/provisioning/datasources/datasources.yaml"), &ds); err != nil {
				t.Fatal(err)
			}
			sources := map[string]string{}
			for _, d := range ds.Datasources {
				sources[d.UID] = d.Type
			}
			var prov struct {
				Providers []struct {
					Options struct {
						Path string `yaml:"path"`
					} `yaml:"options"`
				} `yaml:"providers"`
			}
			if err := yaml.Unmarshal(p.read(t, "deploy/grafana/provisioning/dashboards/dashboards.yaml"), &prov); err != nil {
				t.Fatal(err)
			}
			if len(prov.Providers) != 1 || path.Clean(prov.Providers[0].Options.Path) != "/var/lib/grafana/dashboards" {
				t.Errorf("the dashboard provider does not read /var/lib/grafana/dashboards, where compose mounts deploy/grafana/dashboards")
			}

			dec := json.NewDecoder(strings.NewReader(string(p.read(t, "deploy/grafana/dashboards/overview.json"))))
			var d dashboard
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("overview.json: %v", err)
			}
			if d.UID == "" || len(d.UID) > 40 {
				t.Errorf("dashboard uid %q: Grafana wants 1 to 40 characters", d.UID)
			}
			ids := map[int]bool{}
			used := map[string]bool{}
			var all string
			var walk func([]dashboardPanel)
			walk = func(panels []dashboardPanel) {
				for _, pn := range panels {
					if ids[pn.ID] {
						t.Errorf("panel id %d used twice", pn.ID)
					}
					ids[pn.ID] = true
					if pn.GridPos.X+pn.GridPos.W > 24 || pn.GridPos.W <= 0 {
						t.Errorf("panel %q: gridPos %+v outside the 24 columns", pn.Title, pn.GridPos)
					}
					if pn.Type != "row" {
						if pn.Datasource == nil || sources[pn.Datasource.UID] != pn.Datasource.Type {
							t.Errorf("panel %q: data source %+v is not provisioned (%v)", pn.Title, pn.Datasource, sources)
						}
						if len(pn.Targets) == 0 {
							t.Errorf("panel %q has no query", pn.Title)
						}
					}
					for _, tg := range pn.Targets {
						use, problems := checkPromQL(tg.Expr)
						for _, pr := range problems {
							t.Errorf("panel %q, query %s: %s", pn.Title, tg.RefID, pr)
						}
						for s := range use.series {
							used[s] = true
						}
						all += tg.Expr + "\n"
					}
					walk(pn.Panels)
				}
			}
			walk(d.Panels)
			for _, want := range []struct{ what, expr string }{
				{"requests by route", "sum by (route) (rate(http_requests_total"},
				{"errors by route", `http_requests_total{status_class="5xx"}`},
				{"duration by route", "sum by (le, route) (rate(http_request_duration_seconds_bucket"},
				{"pool saturation", "db_pool_acquired_connections)\n  / sum by (instance) (db_pool_max_connections"},
				{"queue depth", "jobs_queue_depth"},
				{"job failures", `jobs_finished_total{outcome="failed"}`},
				{"rate-limit rejections", "ratelimit_rejections_total"},
				{"N+1 budget hits", "db_query_budget_exceeded_total"},
			} {
				if !strings.Contains(all, want.expr) {
					t.Errorf("the dashboard shows no %s (%s)", want.what, want.expr)
				}
			}
			var unused []string
			for m := range contractMetrics {
				name := m
				if contractHistograms[m] {
					name = m + "_bucket"
				}
				if !used[name] {
					unused = append(unused, name)
				}
			}
			if len(unused) > 0 {
				t.Errorf("metrics of the contract the dashboard does not show: %s", fmt.Sprint(unused))
			}
		})
	}
}
