package config

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes every variable with its default and meaning as an aligned
// table, for the config subcommand.
func WriteText(w io.Writer, vars []Variable) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	for _, v := range vars {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, defaultText(v), v.Description)
	}
	return tw.Flush()
}

// Markdown renders the table of variables kept in README.md.
func Markdown(vars []Variable) string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Accepted | Meaning |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, v := range vars {
		def := "`" + v.Default + "`"
		if !v.HasDefault {
			def = "required"
		} else if v.Default == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, def, escapeCell(v.Accepted), escapeCell(v.Description))
	}
	return b.String()
}

// EnvExample renders .env.example: every variable with its meaning. A
// variable with an `example` tag is set to that value; any other is shown
// commented out with its default, which applies anyway.
func EnvExample(vars []Variable) string {
	var b strings.Builder
	for i, v := range vars {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "# %s\n", v.Description)
		if v.Example != "" || v.Required {
			fmt.Fprintf(&b, "%s=%s\n", v.Name, v.Example)
		} else {
			fmt.Fprintf(&b, "# %s=%s\n", v.Name, v.Default)
		}
	}
	return b.String()
}

func defaultText(v Variable) string {
	switch {
	case !v.HasDefault:
		return "(required)"
	case v.Default == "":
		return "(empty)"
	default:
		return v.Default
	}
}

func escapeCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
