package config

import (
	"encoding"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Variable describes one environment variable, derived from the tags of a
// Config field.
type Variable struct {
	Name        string
	Default     string
	HasDefault  bool
	Required    bool
	Secret      bool
	Description string
	Accepted    string
	Example     string
	typ         reflect.Type
}

// Variables lists every environment variable read by Load, in declaration
// order. It fails when a field lacks a description, so an undocumented
// setting cannot be added.
func Variables() ([]Variable, error) {
	var vars []Variable
	if err := collect(reflect.TypeFor[Config](), "", &vars); err != nil {
		return nil, err
	}
	return vars, nil
}

func collect(t reflect.Type, prefix string, vars *[]Variable) error {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if p, ok := f.Tag.Lookup("envPrefix"); ok {
			if f.Type.Kind() != reflect.Struct {
				return fmt.Errorf("config: field %s has envPrefix but is not a struct", f.Name)
			}
			if err := collect(f.Type, prefix+p, vars); err != nil {
				return err
			}
			continue
		}
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			return fmt.Errorf("config: field %s has neither an env nor an envPrefix tag", f.Name)
		}
		key, opts, _ := strings.Cut(tag, ",")
		v := Variable{
			Name:        prefix + key,
			Secret:      f.Tag.Get("secret") == "true",
			Description: f.Tag.Get("desc"),
			Example:     f.Tag.Get("example"),
			Accepted:    f.Tag.Get("accepts"),
			typ:         f.Type,
		}
		if v.Accepted == "" {
			v.Accepted = accepted(f.Type)
		}
		v.Default, v.HasDefault = f.Tag.Lookup("envDefault")
		for _, o := range strings.Split(opts, ",") {
			if o == "required" || o == "notEmpty" {
				v.Required = true
			}
		}
		if v.Description == "" {
			return fmt.Errorf("config: %s (field %s) has no desc tag", v.Name, f.Name)
		}
		if v.Required == v.HasDefault {
			return fmt.Errorf("config: %s (field %s) must be either required or have an envDefault", v.Name, f.Name)
		}
		*vars = append(*vars, v)
	}
	return nil
}

// check parses the variable on its own with the same parser Load uses, so
// that each failure is attributed to the variable that caused it.
func (v Variable) check(values map[string]string) (Problem, bool) {
	value, set := values[v.Name]
	p := Problem{Name: v.Name, Value: value, Set: set, Secret: v.Secret, Accepted: v.Accepted}
	if v.Required && value == "" {
		p.Reason = "is required"
		return p, false
	}
	tag := fmt.Sprintf(`env:%s`, strconv.Quote(v.Name))
	if v.HasDefault {
		tag += fmt.Sprintf(` envDefault:%s`, strconv.Quote(v.Default))
	}
	holder := reflect.New(reflect.StructOf([]reflect.StructField{{
		Name: "V",
		Type: v.typ,
		Tag:  reflect.StructTag(tag),
	}}))
	if err := env.ParseWithOptions(holder.Interface(), env.Options{Environment: values}); err != nil {
		p.Reason = "cannot be parsed"
		if !set {
			p.Reason = fmt.Sprintf("has an invalid default %q", v.Default)
		}
		var pe env.ParseError
		if errors.As(err, &pe) {
			var ae acceptedError
			if errors.As(pe.Err, &ae) {
				p.Reason = "is not one of the accepted values"
			}
		}
		return p, false
	}
	return Problem{}, true
}

// Accepter is implemented by setting types that accept a fixed set of values.
type Accepter interface {
	Accepted() string
}

func accepted(t reflect.Type) string {
	if a, ok := reflect.Zero(t).Interface().(Accepter); ok {
		return a.Accepted()
	}
	switch t {
	case reflect.TypeFor[time.Duration]():
		return "a duration such as 500ms, 30s or 5m"
	case reflect.TypeFor[slog.Level]():
		return "debug, info, warn or error"
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return "a " + t.Name() + " value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "any text"
	}
}

// Problem is one invalid or missing variable.
type Problem struct {
	Name     string
	Value    string
	Set      bool
	Secret   bool
	Reason   string
	Accepted string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Name)
	switch {
	case !p.Set:
	case p.Secret:
		b.WriteString(" (value hidden)")
	default:
		fmt.Fprintf(&b, "=%q", p.Value)
	}
	fmt.Fprintf(&b, " %s; accepted: %s", p.Reason, p.Accepted)
	return b.String()
}

// ValidationError lists every problem found by Load.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// acceptedError marks a value rejected because it is not in a fixed set.
type acceptedError struct {
	value, accepted string
}

func (e acceptedError) Error() string {
	return fmt.Sprintf("%q is not one of %s", e.value, e.accepted)
}

// Environment is the deployment environment.
type Environment string

// Deployment environments.
const (
	Development Environment = "development"
	Test        Environment = "test"
	Production  Environment = "production"
)

// Accepted implements Accepter.
func (Environment) Accepted() string { return "development, test or production" }

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *Environment) UnmarshalText(text []byte) error {
	switch v := Environment(text); v {
	case Development, Test, Production:
		*e = v
		return nil
	default:
		return acceptedError{value: string(text), accepted: e.Accepted()}
	}
}

// QueryExecMode names a pgx query execution mode.
type QueryExecMode string

// Query execution modes. CacheStatement is the fastest against PostgreSQL
// directly; Exec and SimpleProtocol work through PgBouncer in transaction
// mode, which cannot keep prepared statements across transactions.
const (
	CacheStatement QueryExecMode = "cache_statement"
	CacheDescribe  QueryExecMode = "cache_describe"
	DescribeExec   QueryExecMode = "describe_exec"
	Exec           QueryExecMode = "exec"
	SimpleProtocol QueryExecMode = "simple_protocol"
)

// Accepted implements Accepter.
func (QueryExecMode) Accepted() string {
	return "cache_statement, cache_describe, describe_exec, exec or simple_protocol"
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *QueryExecMode) UnmarshalText(text []byte) error {
	switch v := QueryExecMode(text); v {
	case CacheStatement, CacheDescribe, DescribeExec, Exec, SimpleProtocol:
		*m = v
		return nil
	default:
		return acceptedError{value: string(text), accepted: m.Accepted()}
	}
}
