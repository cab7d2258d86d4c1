package checks_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// loadComposeFile loads a compose file with compose-go, the library of
// docker compose itself, with validation against the compose-spec JSON
// schema and the consistency checks (references between services) on.
func loadComposeFile(path string) (*types.Project, error) {
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName("check", true)
	})
}

func loadCompose(t *testing.T, p project) *types.Project {
	t.Helper()
	c, err := loadComposeFile(p.path("deploy/compose.yaml"))
	if err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	return c
}

// TestComposeSchemaCatchesMistakes proves the loader validates: an unknown
// key and a dependency on a service that does not exist are refused.
func TestComposeSchemaCatchesMistakes(t *testing.T) {
	p := projects(t)[0]
	orig := string(p.read(t, "deploy/compose.yaml"))
	for name, broken := range map[string]string{
		"unknown key":     strings.Replace(orig, "  redis:\n", "  redis:\n    restart_policy: always\n", 1),
		"missing service": strings.Replace(orig, "      redis: {condition: service_healthy}", "      rediss: {condition: service_healthy}", 1),
	} {
		if broken == orig {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		path := filepath.Join(t.TempDir(), "compose.yaml")
		if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadComposeFile(path); err == nil {
			t.Errorf("%s: compose-go accepted it", name)
		}
	}
}

// TestComposeStack checks the local stack: the compose-spec schema, the
// services and ports of the contract, published ports on 127.0.0.1 only,
// pinned images, mounted files that exist, and settings that agree across
// files (Dex's client and the app's OIDC_*, PgBouncer and DATABASE_URL, the
// MinIO bucket and BLOB_URL, only known environment variables).
func TestComposeStack(t *testing.T) {
	wantPorts := map[string][]string{
		"postgres":   {"5432"},
		"pgbouncer":  {"6432"},
		"redis":      {"6379"},
		"minio":      {"9000", "9001"},
		"dex":        {"5556"},
		"jaeger":     {"16686", "4317", "4318"},
		"prometheus": {"9090"},
		"grafana":    {"3000"},
		"app":        {"8080"},
	}
	for _, p := range projects(t) {
		t.Run(p.name, func(t *testing.T) {
			c := loadCompose(t, p)
			for _, name := range []string{"minio-init", "migrate", "worker"} {
				if _, ok := c.Services[name]; !ok {
					t.Errorf("no service %s", name)
				}
			}
			for name, ports := range wantPorts {
				svc, ok := c.Services[name]
				if !ok {
					t.Errorf("no service %s", name)
					continue
				}
				var published []string
				for _, port := range svc.Ports {
					published = append(published, port.Published)
				}
				sort.Strings(published)
				sort.Strings(ports)
				if !slices.Equal(published, ports) {
					t.Errorf("service %s publishes %v, want %v", name, published, ports)
				}
			}
			for name, svc := range c.Services {
				for _, port := range svc.Ports {
					if port.HostIP != "127.0.0.1" {
						t.Errorf("service %s publishes %s on %q: bind it to 127.0.0.1", name, port.Published, port.HostIP)
					}
				}
				if svc.Image == p.opts.Name+":dev" {
					if svc.Build == nil && svc.PullPolicy != "never" {
						t.Errorf("service %s runs the app's image but neither builds it nor sets pull_policy: never", name)
					}
				} else if i := strings.LastIndex(svc.Image, ":"); i < 0 || strings.Contains(svc.Image[i:], "/") || svc.Image[i+1:] == "latest" {
					t.Errorf("service %s: image %q has no pinned tag", name, svc.Image)
				}
				for _, v := range svc.Volumes {
					if v.Type != types.VolumeTypeBind {
						continue
					}
					if _, err := os.Stat(v.Source); err != nil {
						t.Errorf("service %s mounts %s, which the project does not have", name, v.Source)
					}
				}
			}

			known := knownEnv(t, p)
			app := c.Services["app"]
			for _, name := range []string{"app", "worker", "migrate"} {
				var names []string
				for k := range c.Services[name].Environment {
					names = append(names, k)
				}
				if bad := unknownEnv(known, names); len(bad) > 0 {
					t.Errorf("service %s sets variables no code reads: %v", name, bad)
				}
			}
			env := func(k string) string {
				if v := app.Environment[k]; v != nil {
					return *v
				}
				t.Errorf("app has no %s", k)
				return ""
			}
			checkDex(t, p, env)
			checkPgBouncer(t, p, env)
			if env("DATABASE_QUERY_EXEC_MODE") != "exec" {
				t.Error("the app connects through PgBouncer in transaction mode but DATABASE_QUERY_EXEC_MODE is not exec")
			}
			blob, err := url.Parse(env("BLOB_URL"))
			if err != nil {
				t.Fatal(err)
			}
			mc := c.Services["minio-init"]
			if !slices.Contains(mc.Command, "local/"+blob.Host) {
				t.Errorf("minio-init does not create the bucket %q of BLOB_URL (command %v)", blob.Host, mc.Command)
			}
		})
	}
}

// checkDex checks the development OpenID Connect provider knows the app as a
// client with the app's settings.
func checkDex(t *testing.T, p project, env func(string) string) {
	t.Helper()
	var dex struct {
		Issuer        string `yaml:"issuer"`
		StaticClients []struct {
			ID           string   `yaml:"id"`
			Secret       string   `yaml:"secret"`
			RedirectURIs []string `yaml:"redirectURIs"`
		} `yaml:"staticClients"`
		StaticPasswords []struct {
			Email string `yaml:"email"`
			Hash  string `yaml:"hash"`
		} `yaml:"staticPasswords"`
	}
	if err := yaml.Unmarshal(p.read(t, "deploy/dex/config.yaml"), &dex); err != nil {
		t.Fatalf("deploy/dex/config.yaml: %v", err)
	}
	if dex.Issuer != env("OIDC_ISSUER_URL") {
		t.Errorf("Dex's issuer %q is not the app's OIDC_ISSUER_URL %q", dex.Issuer, env("OIDC_ISSUER_URL"))
	}
	found := false
	for _, c := range dex.StaticClients {
		if c.ID == env("OIDC_CLIENT_ID") {
			found = true
			if c.Secret != env("OIDC_CLIENT_SECRET") {
				t.Error("Dex's client secret is not the app's OIDC_CLIENT_SECRET")
			}
			if !slices.Contains(c.RedirectURIs, env("OIDC_REDIRECT_URL")) {
				t.Errorf("Dex does not allow the app's OIDC_REDIRECT_URL %q (%v)", env("OIDC_REDIRECT_URL"), c.RedirectURIs)
			}
		}
	}
	if !found {
		t.Errorf("Dex has no client %q", env("OIDC_CLIENT_ID"))
	}
	if len(dex.StaticPasswords) == 0 || !strings.HasPrefix(dex.StaticPasswords[0].Hash, "$2") {
		t.Error("Dex has no development user with a bcrypt hash")
	}
}

// checkPgBouncer checks PgBouncer pools, in transaction mode, the database
// and user of the app's DATABASE_URL on the port the URL names.
func checkPgBouncer(t *testing.T, p project, env func(string) string) {
	t.Helper()
	u, err := url.Parse(env("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	ini := map[string]string{}
	section := ""
	for _, line := range strings.Split(string(p.read(t, "deploy/pgbouncer/pgbouncer.ini")), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			ini[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.Hostname() != "pgbouncer" || ini["pgbouncer.listen_port"] != u.Port() {
		t.Errorf("DATABASE_URL %s does not go through PgBouncer's listen_port %s", u.Redacted(), ini["pgbouncer.listen_port"])
	}
	if ini["pgbouncer.pool_mode"] != "transaction" {
		t.Errorf("PgBouncer pool_mode = %q, want transaction", ini["pgbouncer.pool_mode"])
	}
	if !strings.Contains(ini["databases."+db], "dbname="+db) {
		t.Errorf("PgBouncer has no [databases] entry for %s", db)
	}
	password, _ := u.User.Password()
	users := string(p.read(t, "deploy/pgbouncer/userlist.txt"))
	if !strings.Contains(users, `"`+u.User.Username()+`" "`+password+`"`) {
		t.Errorf("PgBouncer's userlist.txt lacks the app role %s with the password of DATABASE_URL", u.User.Username())
	}
}
