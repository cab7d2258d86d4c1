package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Choice is one accepted value of an enumerated option, with the one line
// the help text and the wizard show for it.
type Choice struct {
	Value       string
	Description string
}

// CIChoices are the accepted values of the ci option.
var CIChoices = []Choice{
	{"github", "GitHub Actions workflow: lint, vulncheck, image build and the whole suite against real PostgreSQL and Redis, skips refused"},
	{"gitlab", "GitLab CI pipeline: the same jobs as the GitHub workflow"},
	{"none", "no CI workflow: bring your own"},
}

// SessionChoices are the accepted values of the sessions option.
var SessionChoices = []Choice{
	{"redis", "sessions in Redis, shared by every instance; Redis also holds the rate limits"},
	{"postgres", "sessions in a PostgreSQL table: one service less to run; Redis still holds the rate limits"},
}

// QueueChoices are the accepted values of the queue option.
var QueueChoices = []Choice{
	{"river", "River on PostgreSQL: a job is enqueued in the same transaction as the write that needs it"},
	{"asynq", "Asynq on Redis: jobs live in Redis, outside the database's transactions"},
}

// Backend is an enumerated answer that chooses between whole alternatives of
// the generated project: a CI provider, a session store, a job queue. Its key
// is at once the answers-file key, the flag name, the key in saasgen.yaml
// and the key of template file selectors (store[sessions=redis].go.tmpl).
type Backend struct {
	Key      string
	Question string // the wizard's title for it
	Choices  []Choice
	Default  string
	field    func(*Answers) *string
}

// Get returns the backend's value in a.
func (b Backend) Get(a *Answers) string { return *b.field(a) }

// Set sets the backend's value in a.
func (b Backend) Set(a *Answers, v string) { *b.field(a) = v }

// Backends are every enumerated answer, in the order the wizard asks them.
var Backends = []Backend{
	{Key: "ci", Question: "CI workflow", Choices: CIChoices, Default: "github", field: func(a *Answers) *string { return &a.CI }},
	{Key: "sessions", Question: "Session store", Choices: SessionChoices, Default: "redis", field: func(a *Answers) *string { return &a.Sessions }},
	{Key: "queue", Question: "Job queue", Choices: QueueChoices, Default: "river", field: func(a *Answers) *string { return &a.Queue }},
}

// BackendByKey returns the backend with key, if there is one.
func BackendByKey(key string) (Backend, bool) {
	for _, b := range Backends {
		if b.Key == key {
			return b, true
		}
	}
	return Backend{}, false
}

// DefaultModules is the example module a project gets when no modules are
// chosen, so the pattern every later module follows is visible on day one.
var DefaultModules = []string{"projects"}

// Answers are the choices that shape a generated project. saasgen.yaml
// records them so later commands (add module, upgrade) can re-render.
type Answers struct {
	Name     string   `yaml:"name" json:"name"`
	Module   string   `yaml:"module" json:"module"`
	CI       string   `yaml:"ci" json:"ci"`
	Sessions string   `yaml:"sessions" json:"sessions"`
	Queue    string   `yaml:"queue" json:"queue"`
	Modules  []string `yaml:"modules" json:"modules"`
}

// FillDefaults gives every backend that has no value its default (a manifest
// written before the backend existed) and returns the keys it filled.
func (a *Answers) FillDefaults() []string {
	var filled []string
	for _, b := range Backends {
		if b.Get(a) == "" {
			b.Set(a, b.Default)
			filled = append(filled, b.Key)
		}
	}
	return filled
}

// Options is everything `saasgen new` needs. Flags, the answers file and the
// wizard all fill this one struct; Validate is the one place it is checked.
type Options struct {
	Answers
	Dir        string // target directory; default ./<name>
	Force      bool   // allow a non-empty target directory
	NoGit      bool   // skip git init and the first commit
	SkipVerify bool   // skip build, vet and tests of the output
	DryRun     bool   // render and list, write nothing
	// Revision renders with an older template revision of the history (the
	// project is then one that upgrade brings up to date); empty is the
	// current templates.
	Revision string
}

// DefaultOptions returns the options a run with --yes and nothing else uses,
// less the name, which has no default.
func DefaultOptions() Options {
	o := Options{Answers: Answers{Modules: slices.Clone(DefaultModules)}}
	o.FillDefaults()
	return o
}

// Normalize fills values derived from others: the module path and target
// directory from the name, and canonical module names ("order-items" is
// recorded as "order_items"). It trims nothing: a name with spaces is
// refused by validation, never silently changed. Empty entries of the
// module list (--modules=a,,b) are dropped.
func (o *Options) Normalize() {
	if o.Module == "" {
		o.Module = o.Name
	}
	if o.Dir == "" && o.Name != "" {
		o.Dir = o.Name
	}
	mods := make([]string, 0, len(o.Modules))
	for _, m := range o.Modules {
		if m != "" {
			mods = append(mods, strings.ReplaceAll(m, "-", "_"))
		}
	}
	o.Modules = mods
}

// MaxModules bounds the modules of a project (chosen at once or added
// later): far above any real project, it keeps a mistaken or hostile input
// from running for minutes.
const MaxModules = 1000

// MaxAnswersFileSize bounds an answers file (--config).
const MaxAnswersFileSize = 1 << 20

// Validate turns the raw answers of `saasgen new`, from flags, an answers
// file or the wizard, into the options the generator runs with: defaults
// derived (Normalize), module names in their canonical form, every rule
// checked, the first problem returned as an *InputError naming the value as
// typed and what would be accepted. It is the one validation of new: New and
// Render call it, and the wizard's inline checks call the functions it is
// made of (ValidateProjectName, ValidateModulePath, ValidateChoice,
// ValidateModuleList).
func (g *Generator) Validate(o Options) (Options, error) {
	if o.Name == "" {
		return o, &InputError{Field: "project name", Reason: "is required: pass it as the NAME argument (saasgen new NAME) or as name: in the --config answers file"}
	}
	if err := ValidateProjectName(o.Name); err != nil {
		return o, err
	}
	o.Modules = slices.Clone(o.Modules)
	raw := o.Modules
	o.Normalize() // the module path and directory; raw keeps the module names as typed
	if err := ValidateModulePath(o.Module); err != nil {
		return o, err
	}
	for _, b := range Backends {
		if err := ValidateChoice("--"+b.Key, b.Get(&o.Answers), b.Choices); err != nil {
			return o, err
		}
	}
	if err := checkModuleCount(len(raw)); err != nil {
		return o, err
	}
	typed := make([]string, 0, len(raw))
	for _, m := range raw {
		if m != "" {
			typed = append(typed, m)
		}
	}
	return o, g.ValidateModuleList(typed)
}

func checkModuleCount(n int) error {
	if n > MaxModules {
		return invalid("module count", strconv.Itoa(n), fmt.Sprintf("is more than a project may have (at most %d)", MaxModules))
	}
	return nil
}

// validateRecorded checks answers recorded in a manifest by the rules each
// value obeyed when it was accepted (names, module path, choices), so a
// hand-edited saasgen.yaml is refused rather than misread.
func validateRecorded(a Answers) error {
	if err := ValidateProjectName(a.Name); err != nil {
		return err
	}
	if err := ValidateModulePath(a.Module); err != nil {
		return err
	}
	for _, b := range Backends {
		if err := ValidateChoice(b.Key, b.Get(&a), b.Choices); err != nil {
			return err
		}
	}
	if err := checkModuleCount(len(a.Modules)); err != nil {
		return err
	}
	for _, m := range a.Modules {
		if err := ValidateModuleName(m); err != nil {
			return err
		}
	}
	return nil
}

// ValidateChoice checks value against the accepted choices of an option.
func ValidateChoice(field, value string, choices []Choice) error {
	for _, c := range choices {
		if c.Value == value {
			return nil
		}
	}
	return invalid(field, value, "is not accepted; use one of: "+strings.Join(ChoiceValues(choices), ", "))
}

// ChoiceValues lists the accepted values of choices.
func ChoiceValues(choices []Choice) []string {
	vals := make([]string, len(choices))
	for i, c := range choices {
		vals[i] = c.Value
	}
	return vals
}

// AnswersFile is a parsed --config file. Its keys are the flag names; a nil
// field was not in the file.
type AnswersFile struct {
	Name       *string   `yaml:"name"`
	Module     *string   `yaml:"module"`
	CI         *string   `yaml:"ci"`
	Sessions   *string   `yaml:"sessions"`
	Queue      *string   `yaml:"queue"`
	Modules    *[]string `yaml:"modules"`
	Dir        *string   `yaml:"dir"`
	Force      *bool     `yaml:"force"`
	NoGit      *bool     `yaml:"no-git"`
	SkipVerify *bool     `yaml:"skip-verify"`
}

// ReadAnswersFile parses a YAML answers file. An unknown key, a value of the
// wrong type or a syntax error is an *InputError naming the file and line.
func ReadAnswersFile(path string) (*AnswersFile, error) {
	data, err := readBounded(path, MaxAnswersFileSize)
	if errors.Is(err, errTooBig) {
		return nil, invalid("--config", path, fmt.Sprintf("is larger than %d bytes; an answers file holds a few answers", MaxAnswersFileSize))
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, invalid("--config", path, "does not exist; pass the path of a YAML answers file (see examples/)")
		}
		return nil, invalid("--config", path, "cannot be read: "+pathProblem(err)+"; pass the path of a YAML answers file (see examples/)")
	}
	return ParseAnswers(filepath.Base(path), data)
}

var errTooBig = errors.New("file too large")

// readBounded reads the file at path, or errTooBig past limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = errTooBig
	}
	return data, err
}

// ParseAnswers parses answers-file YAML; name is used in error messages.
func ParseAnswers(name string, data []byte) (*AnswersFile, error) {
	var f AnswersFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	const accepted = "; accepted keys: name, module, ci, sessions, queue, modules, dir, force, no-git, skip-verify"
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) { // an empty file answers nothing
			return &f, nil
		}
		return nil, invalid("answers file", name, "is not valid: "+yamlProblem(err)+accepted)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, invalid("answers file", name, "holds more than one YAML document (---); put every answer in the first"+accepted)
	}
	return &f, nil
}

// Backend returns the file's value for the backend key, nil when absent.
func (f *AnswersFile) Backend(key string) *string {
	switch key {
	case "ci":
		return f.CI
	case "sessions":
		return f.Sessions
	case "queue":
		return f.Queue
	}
	return nil
}

// ApplyTo copies every value present in the file onto o.
func (f *AnswersFile) ApplyTo(o *Options) {
	setIf(&o.Name, f.Name)
	setIf(&o.Module, f.Module)
	setIf(&o.CI, f.CI)
	setIf(&o.Sessions, f.Sessions)
	setIf(&o.Queue, f.Queue)
	setIf(&o.Dir, f.Dir)
	setIf(&o.Force, f.Force)
	setIf(&o.NoGit, f.NoGit)
	setIf(&o.SkipVerify, f.SkipVerify)
	if f.Modules != nil {
		o.Modules = slices.Clone(*f.Modules)
	}
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlProblem rewords a YAML decoding error for a person: every problem with
// its line, unknown keys named as keys rather than Go fields.
func yamlProblem(err error) string {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for i, m := range msgs {
		m = unknownFieldRE.ReplaceAllString(m, `unknown key "$1"`)
		if strings.Contains(m, "into generator.AnswersFile") {
			m = strings.SplitN(m, ":", 2)[0] + ": the file must be a mapping of keys to values"
		}
		msgs[i] = m
	}
	return strings.Join(msgs, "; ")
}
