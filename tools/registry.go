package tools

import (
	"fmt"
	"slices"
	"strings"
)

// Selection says which tools the operator enabled.
type Selection struct {
	// Toolsets to enable; empty means DefaultToolsets, "all" means every toolset.
	Toolsets []string
	// Tools enables single tools on top of the toolsets.
	Tools []string
	// Exclude disables single tools.
	Exclude []string
	// ReadOnly drops every write tool. It wins over everything else.
	ReadOnly bool
	// Receiver says the webhook receiver runs. The live toolset needs it (each caller turn
	// arrives through it), so without it the live tools are not offered at all.
	Receiver bool
}

// Select returns the enabled tools of all, in all's order. Unknown toolset or tool names are
// an error that lists the valid ones, so a typo never silently enables nothing.
func Select(all []Tool, sel Selection) ([]Tool, error) {
	known := map[string]bool{}
	for _, t := range all {
		known[t.Def.Name] = true
	}
	sets := sel.Toolsets
	if len(sets) == 0 {
		sets = DefaultToolsets()
	}
	enabledSet := map[string]bool{}
	for _, s := range sets {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "all":
			for _, ts := range Toolsets() {
				enabledSet[ts] = true
			}
		case s == "default":
			for _, ts := range DefaultToolsets() {
				enabledSet[ts] = true
			}
		case slices.Contains(Toolsets(), s):
			enabledSet[s] = true
		default:
			return nil, fmt.Errorf("unknown toolset %q; valid toolsets: %s, default, all", s, strings.Join(Toolsets(), ", "))
		}
	}
	for _, names := range [][]string{sel.Tools, sel.Exclude} {
		for _, n := range names {
			if !known[n] {
				return nil, fmt.Errorf("unknown tool %q; run \"agentphone-mcp tools\" for the list", n)
			}
		}
	}
	var out []Tool
	for _, t := range all {
		on := enabledSet[t.Toolset] || slices.Contains(sel.Tools, t.Def.Name)
		if slices.Contains(sel.Exclude, t.Def.Name) {
			on = false
		}
		if sel.ReadOnly && !t.ReadOnly {
			on = false
		}
		if t.Toolset == ToolsetLive && !sel.Receiver {
			on = false
		}
		if on {
			out = append(out, t)
		}
	}
	return out, nil
}
