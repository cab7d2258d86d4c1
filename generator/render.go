package generator

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"go/format"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// TemplateExt is the suffix every template file carries; it is dropped from
// the output path.
const TemplateExt = ".tmpl"

// TemplateSet is a parsed template tree: each file's path and body templates.
// Parsing is separate from rendering so every template of the embedded trees
// is parsed up front (and by a test), never first in a user's hands.
type TemplateSet struct {
	root   string
	files  []parsedTemplate
	digest [sha256.Size]byte // of every file's path and source
}

type parsedTemplate struct {
	src       string // path in the FS, for error messages
	path      *template.Template
	body      *template.Template
	selectors []selector // all must hold for the file to be rendered
	// gofmtClean: the shipped format index (see formatindex.go) lists the
	// template as rendering gofmt-clean Go for any answers, so its output
	// is not run through go/format.
	gofmtClean bool
}

// A selector in a template's file name, name[key=value].ext.tmpl or
// name[key=v1|v2].ext.tmpl, renders the file only when the backend key (see
// Backends) has one of the values. The selector is not part of the output
// name: store[sessions=redis].go.tmpl and store[sessions=postgres].go.tmpl
// are the two alternatives of store.go. A backend choice thus selects whole
// files instead of scattering conditions through shared ones.
type selector struct {
	key    string
	values []string
}

var selectorRE = regexp.MustCompile(`\[([a-z]+)=([a-z0-9|]+)\]`)

// parseSelectors removes the selectors from the file name of rel and checks
// each names a backend and some of its choices.
func parseSelectors(rel string) (string, []selector, error) {
	dir, base := path.Split(rel)
	var sels []selector
	for _, m := range selectorRE.FindAllStringSubmatch(base, -1) {
		b, ok := BackendByKey(m[1])
		if !ok {
			return "", nil, fmt.Errorf("selector %s names no answer; selectors use one of: %s", m[0], strings.Join(backendKeys(), ", "))
		}
		values := strings.Split(m[2], "|")
		for _, v := range values {
			if err := ValidateChoice(b.Key, v, b.Choices); err != nil {
				return "", nil, fmt.Errorf("selector %s: %w", m[0], err)
			}
		}
		sels = append(sels, selector{key: b.Key, values: values})
	}
	base = selectorRE.ReplaceAllString(base, "")
	if strings.ContainsAny(base, "[]") {
		return "", nil, fmt.Errorf("file name %s has a malformed selector; write name[key=value].ext.tmpl", path.Base(rel))
	}
	return dir + base, sels, nil
}

func backendKeys() []string {
	keys := make([]string, len(Backends))
	for i, b := range Backends {
		keys[i] = b.Key
	}
	return keys
}

// Chooser is the template data of a tree whose files have selectors: it
// answers the value of a backend key.
type Chooser interface {
	Choice(key string) string
}

// selected reports whether every selector of t holds for data.
func (t parsedTemplate) selected(data any) (bool, error) {
	if len(t.selectors) == 0 {
		return true, nil
	}
	c, ok := data.(Chooser)
	if !ok {
		return false, fmt.Errorf("template %s has a selector, but its data (%T) has no Choice method", t.src, data)
	}
	for _, s := range t.selectors {
		if !slices.Contains(s.values, c.Choice(s.key)) {
			return false, nil
		}
	}
	return true, nil
}

func funcMap() template.FuncMap {
	return sprig.HermeticTxtFuncMap()
}

// ParseTemplates parses every file under root in fsys. A file without the
// .tmpl suffix or a template that does not parse is an error naming the file.
func ParseTemplates(fsys fs.FS, root string) (*TemplateSet, error) {
	set := &TemplateSet{root: root}
	h := sha256.New()
	// Every file's templates are associated with one base, so they share
	// its function map: adding sprig's functions to each template costs
	// more than parsing it.
	base := template.New(root).Option("missingkey=error").Funcs(funcMap())
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, TemplateExt) {
			return fmt.Errorf("template tree %s: %s does not end in %s", root, p, TemplateExt)
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%d:%s%d:", len(p), p, len(src))
		h.Write(src)
		rel, sels, err := parseSelectors(strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), TemplateExt))
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		pt, err := base.New(p + " (path)").Parse(rel)
		if err != nil {
			return fmt.Errorf("template path %s: %w", p, err)
		}
		bt, err := base.New(p).Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %w", err)
		}
		set.files = append(set.files, parsedTemplate{src: p, path: pt, body: bt, selectors: sels})
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.Sum(set.digest[:0])
	return set, nil
}

// Render executes every template with data and returns the files sorted by
// path. A file whose selectors do not hold for data (see selector), a path
// that renders with an empty segment, or a body that renders to
// nothing but white space, is left out: that is how a template is made
// conditional. Go files are formatted with go/format, except those of the
// templates the shipped format index lists as gofmt-clean (formatindex.go).
func (s *TemplateSet) Render(data any) ([]File, error) {
	out, err := s.render(data, formatUnlisted)
	if err != nil {
		return nil, err
	}
	files := make([]File, len(out))
	for i, r := range out {
		files[i] = r.File
	}
	return files, nil
}

// formatting says which rendered Go files go through go/format.
type formatting int

const (
	formatUnlisted formatting = iota // all but those of gofmt-clean templates
	formatNone                       // none: the format index is built from the raw output
)

// rendered is a rendered file and the template it came from.
type rendered struct {
	File
	src string
}

// render is Render, with each file's template, formatting as f says.
func (s *TemplateSet) render(data any, f formatting) ([]rendered, error) {
	// Paths first, in order, so duplicates are reported the same way every
	// time; then the bodies, in parallel (go/format, where it runs, costs
	// more than executing the template).
	type job struct {
		t   parsedTemplate
		rel string
	}
	jobs := make([]job, 0, len(s.files))
	seen := map[string]string{}
	for _, t := range s.files {
		if ok, err := t.selected(data); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		p, err := execute(t.path, data)
		if err != nil {
			return nil, err
		}
		rel := string(p)
		if rel == "" || slices.Contains(strings.Split(rel, "/"), "") {
			continue
		}
		if rel != path.Clean(rel) || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
			return nil, fmt.Errorf("template %s renders to path %q outside the tree", t.src, rel)
		}
		if prev, ok := seen[rel]; ok {
			return nil, fmt.Errorf("templates %s and %s both render %s", prev, t.src, rel)
		}
		seen[rel] = t.src
		jobs = append(jobs, job{t, rel})
	}
	out := make([]*rendered, len(jobs))
	errs := make([]error, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
				out[i], errs[i] = renderBody(jobs[i].t, jobs[i].rel, data, f)
			}
		})
	}
	wg.Wait()
	for _, err := range errs { // the first in path order, as a sequential render reports it
		if err != nil {
			return nil, err
		}
	}
	files := make([]rendered, 0, len(jobs))
	for _, r := range out {
		if r != nil {
			files = append(files, *r)
		}
	}
	slices.SortFunc(files, func(a, b rendered) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// renderBody renders the body of t as the file rel: nil when it is nothing
// but white space, formatted with go/format when it is Go (as f says).
func renderBody(t parsedTemplate, rel string, data any, f formatting) (*rendered, error) {
	body, err := execute(t.body, data)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if strings.HasSuffix(rel, ".go") && f == formatUnlisted && !t.gofmtClean {
		formatted, err := format.Source(body)
		if err != nil {
			return nil, fmt.Errorf("template %s renders Go that does not parse: %w", t.src, err)
		}
		body = formatted
	}
	mode := fs.FileMode(0o644)
	if bytes.HasPrefix(body, []byte("#!")) {
		mode = 0o755
	}
	return &rendered{File: File{Path: rel, Content: body, Mode: mode}, src: t.src}, nil
}

func execute(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("rendering %w", err)
	}
	return buf.Bytes(), nil
}
