package generator

import (
	"slices"

	"github.com/saasgen/saasgen/templates"
	"strings"
	"testing"
)

func TestParseAnswers(t *testing.T) {
	f, err := ParseAnswers("a.yaml", []byte("name: acme\nmodule: example.com/acme\nci: none\nmodules: [order-items, billing]\nno-git: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	f.ApplyTo(&o)
	o.Normalize()
	if o.Name != "acme" || o.Module != "example.com/acme" || o.CI != "none" || !o.NoGit || o.SkipVerify || o.Dir != "acme" {
		t.Errorf("options = %+v", o)
	}
	if !slices.Equal(o.Modules, []string{"order_items", "billing"}) {
		t.Errorf("modules = %q, want order_items billing", o.Modules)
	}
	if _, err := testGen.Validate(o); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// testGen renders the embedded templates.
var testGen = &Generator{Templates: templates.FS, Version: "dev"}

func TestParseAnswersEmptyAndAbsentKeys(t *testing.T) {
	for _, src := range []string{"", "# nothing\n"} {
		f, err := ParseAnswers("a.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		o := DefaultOptions()
		f.ApplyTo(&o)
		if !slices.Equal(o.Modules, DefaultModules) || o.CI != "github" {
			t.Errorf("%q: defaults changed: %+v", src, o)
		}
	}
	f, err := ParseAnswers("a.yaml", []byte("modules: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	f.ApplyTo(&o)
	if len(o.Modules) != 0 {
		t.Errorf("modules: [] kept %q, want none", o.Modules)
	}
}

func TestParseAnswersErrorsNameLine(t *testing.T) {
	for src, want := range map[string]string{
		"name: acme\nmodul: x\n":        "line 2",
		"name: acme\nmodules: 3\n":      "line 2",
		"name: acme\n  ci: [\n":         "line",
		"name: acme\nno-git: perhaps\n": "line 2",
	} {
		_, err := ParseAnswers("answers.yaml", []byte(src))
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "answers.yaml") {
			t.Errorf("ParseAnswers(%q) = %v, want an *InputError naming answers.yaml and %q", src, err, want)
		}
	}
}

func TestValidateOptions(t *testing.T) {
	base := func() Options {
		o := DefaultOptions()
		o.Name = "acme"
		o.Normalize()
		return o
	}
	if _, err := testGen.Validate(base()); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mutate := range map[string]func(*Options){
		"unknown ci":        func(o *Options) { o.CI = "jenkins" },
		"bad module path":   func(o *Options) { o.Module = "a b" },
		"bad module":        func(o *Options) { o.Modules = []string{"func"} },
		"duplicate module":  func(o *Options) { o.Modules = []string{"order_items", "order-items"}; o.Normalize() },
		"colliding package": func(o *Options) { o.Modules = []string{"order_items", "orderitems"} },
		"missing name":      func(o *Options) { o.Name = "" },
		"clashing module":   func(o *Options) { o.Modules = []string{"service"} },
		"SQL key word":      func(o *Options) { o.Modules = []string{"left"} },
		"derived tables":    func(o *Options) { o.Modules = []string{"project", "projects"} },
		"spaces kept":       func(o *Options) { o.Name = " acme" },
		"reserved name":     func(o *Options) { o.Name = "internal" },
	} {
		o := base()
		mutate(&o)
		if _, err := testGen.Validate(o); err == nil || !IsInputError(err) {
			t.Errorf("%s: Validate() = %v, want an *InputError", name, err)
		}
	}
}

// FuzzParseAnswers checks the answers-file parser never panics and reports
// every problem as an input error.
func FuzzParseAnswers(f *testing.F) {
	f.Add("name: acme\nmodules: [a, b]\nci: none\n")
	f.Add("name: [\n")
	f.Add("force: yes\nskip-verify: 1\n")
	f.Add("modules:\n  - x\n  - {a: b}\n")
	f.Fuzz(func(t *testing.T, src string) {
		af, err := ParseAnswers("fuzz.yaml", []byte(src))
		if err != nil {
			if !IsInputError(err) {
				t.Fatalf("non-input error: %v", err)
			}
			return
		}
		o := DefaultOptions()
		af.ApplyTo(&o)
		o.Normalize()
		if _, err := testGen.Validate(o); err != nil && !IsInputError(err) {
			t.Fatalf("Validate: non-input error %v", err)
		}
	})
}

// TestRenderNormalizes: a direct library call records canonical module names
// in saasgen.yaml, as the command does.
func TestRenderNormalizes(t *testing.T) {
	o := DefaultOptions()
	o.Name, o.Modules = "acme", []string{"order-items"}
	files, err := testGen.Render(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Path == ManifestFile && (!strings.Contains(string(f.Content), "  - order_items\n") || strings.Contains(string(f.Content), "order-items")) {
			t.Errorf("saasgen.yaml records the name as typed:\n%s", f.Content)
		}
		if f.Path == "internal/modules/orderitems/orderitems.go" {
			return
		}
	}
	t.Error("module order-items not rendered as package orderitems")
}
