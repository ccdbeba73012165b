package tools

import (
	"fmt"
	"slices"
	"strings"
)

// Selection says which tools the operator enabled.
type Selection struct {
	// Toolsets to list from the start; empty means "default" (the Default toolsets, with the
	// OnRequest ones available through enable_toolset); "all" means every toolset.
	Toolsets []string
	// Tools lists single tools from the start, on top of the toolsets.
	Tools []string
	// Exclude disables single tools.
	Exclude []string
	// ReadOnly drops every write tool, from the start and on request. It wins over everything
	// else.
	ReadOnly bool
	// Receiver says the webhook receiver runs. The live toolset needs it (each caller turn
	// arrives through it), so without it the live tools are not offered at all.
	Receiver bool
}

// plan is what a Selection makes of the tools.
type plan struct {
	// listed are the tools every session lists from the start, in All's order.
	listed []Tool
	// onRequest maps each toolset a session may add with enable_toolset to its offered
	// tools; sets lists those toolsets in display order.
	onRequest map[string][]Tool
	sets      []string
}

// Select returns the tools listed from the start, in all's order (the tools a session adds
// with enable_toolset are not among them; see NewToolbox). Unknown toolset or tool names are
// an error that lists the valid ones, so a typo never silently enables nothing.
func Select(all []Tool, sel Selection) ([]Tool, error) {
	p, err := makePlan(all, sel)
	return p.listed, err
}

func makePlan(all []Tool, sel Selection) (plan, error) {
	known := map[string]bool{}
	for _, t := range all {
		known[t.Def.Name] = true
	}
	sets := sel.Toolsets
	if len(sets) == 0 {
		sets = []string{"default"}
	}
	listedSet, useDefault := map[string]bool{}, false
	for _, s := range sets {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "all":
			for _, ts := range Toolsets() {
				listedSet[ts] = true
			}
		case s == "default":
			useDefault = true
			for _, ts := range DefaultToolsets() {
				listedSet[ts] = true
			}
		case slices.Contains(Toolsets(), s):
			listedSet[s] = true
		default:
			return plan{}, fmt.Errorf("unknown toolset %q; valid toolsets: %s, default, all", s, strings.Join(Toolsets(), ", "))
		}
	}
	for _, names := range [][]string{sel.Tools, sel.Exclude} {
		for _, n := range names {
			if !known[n] {
				return plan{}, fmt.Errorf("unknown tool %q; run \"agentphone-mcp tools\" for the list", n)
			}
		}
	}
	offered := func(t Tool) bool {
		info, _ := toolsetInfo(t.Toolset)
		return !slices.Contains(sel.Exclude, t.Def.Name) && (t.ReadOnly || !sel.ReadOnly) && (sel.Receiver || !info.NeedsReceiver)
	}
	p := plan{onRequest: map[string][]Tool{}}
	for _, t := range all {
		if !offered(t) {
			continue
		}
		info, _ := toolsetInfo(t.Toolset)
		switch {
		case listedSet[t.Toolset] || slices.Contains(sel.Tools, t.Def.Name):
			p.listed = append(p.listed, t)
		case useDefault && info.OnRequest:
			p.onRequest[t.Toolset] = append(p.onRequest[t.Toolset], t)
		}
	}
	for _, ts := range Toolsets() {
		if len(p.onRequest[ts]) > 0 {
			p.sets = append(p.sets, ts)
		}
	}
	return p, nil
}
