package generator

import (
	"bytes"
	"encoding/json"
	"go/format"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/saasgen/saasgen/templates"
)

// TestGoldenFormatIndex: the shipped format index is what buildFormatIndex
// computes from the embedded template trees (see checkShipped).
func TestGoldenFormatIndex(t *testing.T) {
	g := &Generator{Templates: templates.FS}
	if err := g.Parse(); err != nil {
		t.Fatal(err)
	}
	rec, err := buildFormatIndex(g.project, g.module)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rec.marshal()
	if err != nil {
		t.Fatal(err)
	}
	checkShipped(t, FormatIndexFile, want, shippedFormatIndex, "the probes")
	if len(rec.GofmtClean) == 0 {
		t.Error("no template is gofmt-clean: every Go file is formatted at run time")
	}
}

// TestFormatIndexHoldsForAnyAnswers renders projects of random answers
// (names of random lengths and words, module paths of random shapes, any
// backends, zero to five modules in any order) and fails when a Go file is
// not gofmt-clean: the files of templates the shipped index lists are not
// formatted, so a probe the index missed shows here. The seed is logged;
// SAASGEN_FORMAT_SEED replays one.
func TestFormatIndexHoldsForAnyAnswers(t *testing.T) {
	g := &Generator{Templates: templates.FS}
	if err := g.Parse(); err != nil {
		t.Fatal(err)
	}
	if n := countGofmtClean(g); n == 0 {
		t.Fatal("the shipped format index marks no template: nothing to check (is it stale? run TestGoldenFormatIndex)")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SAASGEN_FORMAT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SAASGEN_FORMAT_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (SAASGEN_FORMAT_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	runs := 40
	if testing.Short() {
		runs = 8
	}
	combos := backendCombinations()
	for range runs {
		opts := randomAnswers(t, g, rng, combos)
		files, err := g.Render(opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts.Answers, err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Path, ".go") {
				continue
			}
			formatted, err := format.Source(f.Content)
			if err != nil {
				t.Errorf("seed %d, answers %+v: %s does not parse: %v", seed, opts.Answers, f.Path, err)
				continue
			}
			if !bytes.Equal(formatted, f.Content) {
				t.Errorf("seed %d, answers %+v: %s is not gofmt-clean from line %d: its template is listed in %s but the probes missed this case (add one to formatProbes)",
					seed, opts.Answers, f.Path, firstDiffLine(f.Content, formatted), FormatIndexFile)
			}
		}
	}
}

// randomAnswers returns valid answers with random names, module path,
// backends and modules.
func randomAnswers(t *testing.T, g *Generator, rng *rand.Rand, combos []Answers) Options {
	t.Helper()
	for range 1000 {
		o := Options{Answers: combos[rng.IntN(len(combos))]}
		o.Name = randomName(rng, "-")
		switch rng.IntN(4) {
		case 0: // the default: the name
		case 1:
			o.Module = "github.com/" + randomName(rng, "-") + "/" + randomName(rng, "-")
		case 2:
			o.Module = strings.ToUpper(randomName(rng, "")[:1]) + ".example/" + randomName(rng, "_")
		default:
			o.Module = "zz" + randomName(rng, "") + ".example/" + strings.Repeat(randomName(rng, "")+"/", 1+rng.IntN(4)) + "x"
		}
		for range rng.IntN(6) {
			o.Modules = append(o.Modules, randomName(rng, "_"))
		}
		if v, err := g.Validate(o); err == nil {
			return v
		}
	}
	t.Fatal("no valid random answers in 1000 tries")
	return Options{}
}

// randomName returns a name of 1 to 40 characters: one to four words of
// letters (and a digit now and then) joined by sep.
func randomName(rng *rand.Rand, sep string) string {
	length := 1 + rng.IntN(40)
	words := 1
	if sep != "" {
		words += rng.IntN(min(4, (length+1)/2))
	}
	var b strings.Builder
	for w := range words {
		if w > 0 {
			b.WriteString(sep)
		}
		n := max(1, (length-len(sep)*(words-1))/words)
		for i := range n {
			if i > 0 && rng.IntN(8) == 0 {
				b.WriteByte(byte('0' + rng.IntN(10)))
			} else {
				b.WriteByte(byte('a' + rng.IntN(26)))
			}
		}
	}
	return b.String()
}

func countGofmtClean(g *Generator) int {
	n := 0
	for _, s := range []*TemplateSet{g.project, g.module} {
		for _, f := range s.files {
			if f.gofmtClean {
				n++
			}
		}
	}
	return n
}

// TestFormatIndexOnlyForItsTrees: a template's output skips go/format only
// when the index names it and was built from the very trees rendered; with
// no index, or one of other trees, every Go file is formatted.
func TestFormatIndexOnlyForItsTrees(t *testing.T) {
	fsys := fstest.MapFS{
		"p/a.go.tmpl": {Data: []byte("package a\nvar   X = {{printf \"%q\" .}}\n")},
		"m/b.go.tmpl": {Data: []byte("package b\n")},
	}
	parse := func() (*TemplateSet, *TemplateSet) {
		p, err := ParseTemplates(fsys, "p")
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseTemplates(fsys, "m")
		if err != nil {
			t.Fatal(err)
		}
		return p, m
	}
	p, m := parse()
	listing := func(digest string) []byte {
		data, err := (&formatIndexRecord{Templates: digest, GofmtClean: []string{"p/a.go.tmpl"}}).marshal()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	const raw, formatted = "package a\nvar   X = \"x\"\n", "package a\n\nvar X = \"x\"\n"
	for _, tc := range []struct {
		name   string
		index  []byte
		marked int
		want   string
	}{
		{"no index", nil, 0, formatted},
		{"another digest", listing(strings.Repeat("0", 64)), 0, formatted},
		{"these trees", listing(treesDigest(p, m)), 1, raw},
	} {
		p, m := parse()
		n, err := markGofmtClean(tc.index, p, m)
		if err != nil || n != tc.marked {
			t.Errorf("%s: %d templates marked, %v; want %d", tc.name, n, err, tc.marked)
		}
		files, err := p.Render("x")
		if err != nil {
			t.Fatal(err)
		}
		if got := string(files[0].Content); got != tc.want {
			t.Errorf("%s: rendered %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := markGofmtClean([]byte("{"), p, m); err == nil {
		t.Error("a corrupt index was accepted")
	}
}

// TestFormatIndexShipped: the embedded trees get their gofmt-clean
// templates marked from the shipped index, and none when it is missing or
// its digest is another's (as after a template edit without regenerating).
func TestFormatIndexShipped(t *testing.T) {
	var rec formatIndexRecord
	if err := json.Unmarshal(shippedFormatIndex, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.GofmtClean) == 0 {
		t.Fatal("the shipped index lists no gofmt-clean template")
	}
	stale := bytes.Replace(shippedFormatIndex, []byte(rec.Templates), []byte(strings.Repeat("f", len(rec.Templates))), 1)
	for _, tc := range []struct {
		name  string
		index []byte
		want  int
	}{
		{"shipped", shippedFormatIndex, len(rec.GofmtClean)},
		{"deleted", nil, 0},
		{"stale digest", stale, 0},
	} {
		g := &Generator{Templates: templates.FS}
		if err := g.Parse(); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*TemplateSet{g.project, g.module} {
			for i := range s.files {
				s.files[i].gofmtClean = false
			}
		}
		if _, err := markGofmtClean(tc.index, g.project, g.module); err != nil {
			t.Fatal(err)
		}
		if got := countGofmtClean(g); got != tc.want {
			t.Errorf("%s index: %d templates marked gofmt-clean, want %d", tc.name, got, tc.want)
		}
	}
}
