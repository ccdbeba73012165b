package tools

import (
	"fmt"
	"strings"
)

// Markdown renders tools as a Markdown table: name, toolset, read or write, and the
// description. The README's tool table is generated from it.
func Markdown(all []Tool) string {
	var b strings.Builder
	b.WriteString("| Tool | Toolset | Access | What it does |\n|---|---|---|---|\n")
	for _, t := range all {
		access := "write"
		if t.ReadOnly {
			access = "read"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", t.Def.Name, t.Toolset, access, strings.ReplaceAll(t.Def.Description, "|", "\\|"))
	}
	return b.String()
}
