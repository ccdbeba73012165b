package tools

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Markdown renders tools as a Markdown table: name, title, toolset, read or write, and the
// description. The README's tool table is generated from Markdown(Catalog(...)).
func Markdown(all []Tool) string {
	var b strings.Builder
	b.WriteString("| Tool | Title | Toolset | Access | What it does |\n|---|---|---|---|---|\n")
	for _, t := range all {
		access := "write"
		if t.ReadOnly {
			access = "read"
		}
		toolset := t.Toolset
		if toolset == "" {
			toolset = "(always, when a toolset can be added)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", t.Def.Name, t.Def.Title, toolset, access, strings.ReplaceAll(t.Def.Description, "|", "\\|"))
	}
	return b.String()
}

// ToolsetsMarkdown renders the toolsets as a Markdown table: name, how it is offered, its
// tools and what they do. The README's toolset list is generated from it.
func ToolsetsMarkdown() string {
	members := map[string][]string{}
	for _, t := range All(&Deps{}) {
		members[t.Toolset] = append(members[t.Toolset], "`"+t.Def.Name+"`")
	}
	var b strings.Builder
	b.WriteString("| Toolset | Offered | What it does | Tools |\n|---|---|---|---|\n")
	for _, ts := range ToolsetInfos() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", ts.Name, offeredAs(ts), ts.Description, strings.Join(members[ts.Name], ", "))
	}
	return b.String()
}

func offeredAs(ts ToolsetInfo) string {
	var s string
	switch {
	case ts.Default:
		s = "listed by default"
	case ts.OnRequest:
		s = "by default on request (`enable_toolset`)"
	default:
		s = "only when the operator names it"
	}
	if ts.NeedsReceiver {
		s += "; needs the webhook receiver"
	}
	return s
}

// Footprint row names of the sets FootprintRows measures besides single toolsets.
const (
	FootprintDefault  = "default"
	FootprintReadOnly = "default, read-only"
	FootprintAll      = "all"
)

// FootprintRow is the tools/list size of one set of tools.
type FootprintRow struct {
	Set   string
	Tools int
	Bytes int
}

// FootprintRows measures the compact JSON of tools/list (the "tools" array, as mcp-go sends
// it) for each toolset on its own, for what a session lists from the start by default (with
// enable_toolset, with and without read-only mode), and for every toolset listed at once with
// the webhook receiver running.
func FootprintRows() []FootprintRow {
	var rows []FootprintRow
	measure := func(name string, sel Selection) {
		b, err := NewToolbox(&Deps{}, All(&Deps{}), sel)
		if err != nil {
			panic(fmt.Sprintf("tools: footprint of %s: %v", name, err)) // the selections are fixed
		}
		rows = append(rows, FootprintRow{name, len(b.Listed()), defsBytes(b.Listed())})
	}
	for _, ts := range Toolsets() {
		measure(ts, Selection{Toolsets: []string{ts}, Receiver: true})
	}
	measure(FootprintDefault, Selection{})
	measure(FootprintReadOnly, Selection{ReadOnly: true})
	measure(FootprintAll, Selection{Toolsets: []string{"all"}, Receiver: true})
	return rows
}

// FootprintMarkdown renders FootprintRows as a Markdown table with approximate tokens
// (bytes/4). The README's footprint table is generated from it.
func FootprintMarkdown() string {
	var b strings.Builder
	b.WriteString("| Set | Tools | Bytes | ~Tokens |\n|---|---|---|---|\n")
	for _, r := range FootprintRows() {
		name := "`" + r.Set + "` toolset"
		switch r.Set {
		case FootprintDefault:
			name = "**default** (listed from the start, `enable_toolset` included)"
		case FootprintReadOnly:
			name = "**default, read-only**"
		case FootprintAll:
			name = "**all toolsets**, receiver on"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", name, r.Tools, thousands(r.Bytes), thousands(r.Bytes/4))
	}
	return b.String()
}

// ToolBytesMarkdown renders the size of each tool's definition in tools/list (compact JSON)
// as a Markdown table, in the order of the catalog.
func ToolBytesMarkdown() string {
	var b strings.Builder
	b.WriteString("| Tool | Toolset | Bytes | ~Tokens |\n|---|---|---|---|\n")
	for _, t := range Catalog(&Deps{}) {
		n := defsBytes([]Tool{t}) - 2 // without the array's brackets
		toolset := t.Toolset
		if toolset == "" {
			toolset = "-"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", t.Def.Name, toolset, thousands(n), thousands(n/4))
	}
	return b.String()
}

// defsBytes is the size of the compact JSON array of the tools' definitions.
func defsBytes(tools []Tool) int {
	defs := make([]any, 0, len(tools))
	for _, t := range tools {
		defs = append(defs, t.Def)
	}
	raw, err := json.Marshal(defs)
	if err != nil {
		panic(fmt.Sprintf("tools: encode tool definitions: %v", err)) // every definition encodes (snapshot test)
	}
	return len(raw)
}

// thousands writes n with comma separators (11045 -> "11,045").
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
