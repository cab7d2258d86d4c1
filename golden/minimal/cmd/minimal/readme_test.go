package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// apiExamplesMarker starts the README's API examples (a sh code block).
const apiExamplesMarker = "<!-- api-examples:"

// TestREADMEAPIExamples runs the README's API examples, line by line, as
// a reader of the quick start would: against the built binary serving a
// freshly migrated database with the tenant acme. A line may assign a
// variable from the binary's output (`KEY=$(go run ./cmd/minimal …)`) or from a
// field of a JSON answer (`ID=$(curl … | jq -r .id)`); a trailing comment
// that starts with a status code is the status the request must get,
// otherwise any 2xx. Every route the documented module registers must be
// among the requests made, so a new route cannot stay undocumented.
func TestREADMEAPIExamples(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := apiExamples(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if lines == nil {
		if modules, _ := filepath.Glob("../../internal/modules/*/internal"); len(modules) > 0 {
			t.Fatalf("README.md has no API examples (%s…) although the project has modules %v", apiExamplesMarker, modules)
		}
		return // no module to document yet
	}

	d := deploy(t, "JOBS_IN_PROCESS=true")
	d.run(t, "tenants", "create", "acme", "Acme Inc.")
	d.serve(t)

	vars := map[string]string{}
	var made []string // "METHOD /path" of every request
	for _, line := range lines {
		name, command := "", line.text
		if m := assignRE.FindStringSubmatch(command); m != nil {
			name, command = m[1], m[2]
		}
		words, err := shellWords(command, vars)
		if err != nil {
			t.Fatalf("README line %d: %v\n%s", line.number, err, line.text)
		}
		var value string
		switch {
		case len(words) > 2 && words[0] == "go" && words[1] == "run":
			value = d.output(t, words[3:]...)
		case len(words) > 0 && words[0] == "curl":
			req, field, err := curlRequest(words[1:], d.base)
			if err != nil {
				t.Fatalf("README line %d: %v\n%s", line.number, err, line.text)
			}
			made = append(made, req.Method+" "+req.URL.Path)
			status, body := do(t, req)
			if want := line.status; (want != 0 && status != want) || (want == 0 && status/100 != 2) {
				t.Fatalf("README line %d: %s %s = %d %s; want %s\n%s", line.number, req.Method, req.URL, status, body, wantStatus(want), line.text)
			}
			if name != "" {
				if value, err = jsonField(body, field); err != nil {
					t.Fatalf("README line %d: %v in %s\n%s", line.number, err, body, line.text)
				}
			}
		default:
			t.Fatalf("README line %d: only `curl …` and `go run ./cmd/minimal …` can be run here\n%s", line.number, line.text)
		}
		if name != "" {
			if value == "" {
				t.Fatalf("README line %d: %s is empty\n%s", line.number, name, line.text)
			}
			vars[name] = value
		}
	}

	routes, err := documentedModuleRoutes(made)
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range routes {
		if !anyMatches(route, made) {
			t.Errorf("the module route %s has no example in the README's API section", route)
		}
	}
}

type exampleLine struct {
	number int // in README.md, of the line's first physical line
	text   string
	status int // from a trailing "# 201 …" comment; 0 for any 2xx
}

var (
	assignRE  = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=\$\((.*)\)$`)
	commentRE = regexp.MustCompile(`\s+#\s*(.*)$`)
	statusRE  = regexp.MustCompile(`^([1-5][0-9][0-9])\b`)
	jqRE      = regexp.MustCompile(`^\.([a-z_][a-z0-9_]*)$`)
)

// apiExamples returns the command lines of the code block after the
// marker: continuation lines joined, comments removed (and read for a
// status). It returns nil when the README has no marker.
func apiExamples(readme string) ([]exampleLine, error) {
	_, rest, found := strings.Cut(readme, apiExamplesMarker)
	if !found {
		return nil, nil
	}
	start := strings.Count(readme[:len(readme)-len(rest)], "\n") + 1
	physical := strings.Split(rest, "\n")
	var out []exampleLine
	inBlock := false
	for i := 0; i < len(physical); i++ {
		text := strings.TrimSpace(physical[i])
		switch {
		case !inBlock && strings.HasPrefix(text, "```"):
			inBlock = true
			continue
		case !inBlock:
			continue
		case strings.HasPrefix(text, "```"):
			if len(out) == 0 {
				return nil, fmt.Errorf("README.md: the API examples block is empty")
			}
			return out, nil
		case text == "":
			continue
		}
		l := exampleLine{number: start + i}
		for strings.HasSuffix(text, `\`) && i+1 < len(physical) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(physical[i])
		}
		if m := commentRE.FindStringSubmatchIndex(text); m != nil && !insideQuotes(text[:m[0]]) {
			comment := text[m[2]:m[3]]
			if s := statusRE.FindString(comment); s != "" {
				l.status, _ = strconv.Atoi(s)
			}
			text = strings.TrimSpace(text[:m[0]])
		}
		l.text = text
		out = append(out, l)
	}
	return nil, fmt.Errorf("README.md: the API examples block is not closed")
}

// insideQuotes reports whether s ends inside a quoted string.
func insideQuotes(s string) bool {
	var quote rune
	for _, c := range s {
		switch {
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case c == quote:
			quote = 0
		}
	}
	return quote != 0
}

// shellWords splits s as sh does for the simple commands of the examples:
// single quotes are literal, double quotes and bare words expand $NAME from
// vars; a pipe is kept as the word "|".
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(rs []rune, i int) (int, error) {
		j := i + 1
		for j < len(rs) && (rs[j] == '_' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= '0' && rs[j] <= '9') {
			j++
		}
		name := string(rs[i+1 : j])
		v, ok := vars[name]
		if !ok {
			return 0, fmt.Errorf("$%s is not set by an earlier line", name)
		}
		cur.WriteString(v)
		return j - 1, nil
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case c == '|' && !inWord:
			words = append(words, "|")
		case c == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i, inWord = j, true
		case c == '"':
			inWord = true
			for i++; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '$' {
					var err error
					if i, err = expand(rs, i); err != nil {
						return nil, err
					}
					continue
				}
				cur.WriteRune(rs[i])
			}
			if i == len(rs) {
				return nil, fmt.Errorf("unterminated double quote")
			}
		case c == '$':
			inWord = true
			var err error
			if i, err = expand(rs, i); err != nil {
				return nil, err
			}
		default:
			inWord = true
			cur.WriteRune(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// curlRequest builds the request of a curl command line (the options the
// README uses: -s, -i, -X, -H, -d) sent to base instead of
// http://localhost:8080, and the field of `| jq -r .field` if it pipes.
func curlRequest(args []string, base string) (req *http.Request, field string, err error) {
	method, target, body := "", "", ""
	header := http.Header{}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "|":
			rest := args[i+1:]
			if len(rest) != 3 || rest[0] != "jq" || rest[1] != "-r" || !jqRE.MatchString(rest[2]) {
				return nil, "", fmt.Errorf("only `| jq -r .field` may follow curl, not %q", strings.Join(rest, " "))
			}
			field = rest[2][1:]
			i = len(args)
		case a == "-s" || a == "-i" || a == "-si":
		case (a == "-X" || a == "-H" || a == "-d") && i+1 < len(args):
			i++
			switch a {
			case "-X":
				method = args[i]
			case "-H":
				k, v, ok := strings.Cut(args[i], ":")
				if !ok {
					return nil, "", fmt.Errorf("header %q has no colon", args[i])
				}
				header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			case "-d":
				body = args[i]
			}
		case strings.HasPrefix(a, "http://localhost:8080/"):
			target = base + strings.TrimPrefix(a, "http://localhost:8080")
		default:
			return nil, "", fmt.Errorf("unexpected curl argument %q", a)
		}
	}
	if target == "" {
		return nil, "", fmt.Errorf("no http://localhost:8080/ URL")
	}
	if method == "" {
		method = http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
	}
	req, err = http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header = header
	return req, field, nil
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func wantStatus(want int) string {
	if want == 0 {
		return "2xx"
	}
	return strconv.Itoa(want)
}

// jsonField returns the top-level string field of a JSON object.
func jsonField(body, field string) (string, error) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(body), &obj); err != nil {
		return "", err
	}
	v, ok := obj[field].(string)
	if !ok {
		return "", fmt.Errorf("no string field %q", field)
	}
	return v, nil
}

// output runs the binary with args and returns its standard output,
// trimmed (what $(…) gives the shell).
func (d *deployment) output(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(d.bin, args...)
	cmd.Env = d.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

var (
	constRE = regexp.MustCompile(`(?m)^const (Prefix|Path) = "(/api/v1/[^"]+)"`)
	routeRE = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) "\+(Prefix|Path)(?:\+"([^"]*)")?`)
)

// documentedModuleRoutes returns the routes ("METHOD /api/v1/…/{id}") of
// the module whose routes the examples call: read from the Prefix and Path
// constants and the mux.Handle calls of its internal packages.
func documentedModuleRoutes(made []string) ([]string, error) {
	dirs, err := filepath.Glob("../../internal/modules/*/internal/*")
	if err != nil {
		return nil, err
	}
	byModule := map[string][]string{}
	prefixes := map[string]string{}
	for _, dir := range dirs {
		module := filepath.Base(filepath.Dir(filepath.Dir(dir)))
		sources, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, src := range sources {
			code, err := os.ReadFile(src)
			if err != nil {
				return nil, err
			}
			consts := map[string]string{}
			for _, m := range constRE.FindAllStringSubmatch(string(code), -1) {
				consts[m[1]] = m[2]
				if m[1] == "Prefix" {
					prefixes[module] = m[2]
				}
			}
			for _, m := range routeRE.FindAllStringSubmatch(string(code), -1) {
				base, ok := consts[m[2]]
				if !ok {
					return nil, fmt.Errorf("%s: route on %s, whose value is not a constant of the file", src, m[2])
				}
				byModule[module] = append(byModule[module], m[1]+" "+base+m[3])
			}
		}
	}
	for module, prefix := range prefixes {
		for _, r := range made {
			if strings.HasPrefix(strings.SplitN(r, " ", 2)[1], prefix) {
				if len(byModule[module]) == 0 {
					return nil, fmt.Errorf("module %s: no mux.Handle routes found in its sources", module)
				}
				return byModule[module], nil
			}
		}
	}
	return nil, fmt.Errorf("the README's examples call no module's routes (prefixes %v)", prefixes)
}

// anyMatches reports whether one of the requests made matches route, whose
// path may hold {wildcards}.
func anyMatches(route string, made []string) bool {
	pattern := "^" + regexp.MustCompile(`\\\{[a-z_]+\\\}`).ReplaceAllString(regexp.QuoteMeta(route), `[^/]+`) + "$"
	re := regexp.MustCompile(pattern)
	for _, r := range made {
		if re.MatchString(r) {
			return true
		}
	}
	return false
}
