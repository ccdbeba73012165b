package tools

import (
	"encoding/json"
	"slices"
	"testing"
)

// Token budget of tools/list (issue 10): the compact JSON of the tools array a session lists,
// as mcp-go sends it.
//
//   - The default set (what a session lists from the start when the operator sets nothing:
//     account, calls, messages, conversations and campaigns, enable_toolset included) is paid
//     for by every user: at most 9,000 bytes. create_campaign may grow by 250 bytes (call
//     campaigns), so the set is kept near 8,750.
//   - The toolsets issue 10 measured (every toolset but campaigns) stay within 16 KiB.
//   - Every toolset together (campaigns included) cannot reach 16 KiB without dropping tools,
//     arguments, titles or hints: with no description at all its 44 tools would still take
//     about 14.7 KB, 4.5 KB of it the four explicit hints every tool sends. It is held at
//     18,000 bytes: its size with today's descriptions plus create_campaign's 250.
const (
	budgetDefault = 9_000
	budgetIssue10 = 16 * 1024
	budgetAll     = 18_000
)

// listBytes is the size of the tools/list "tools" array for the given tools.
func listBytes(t testing.TB, tools []Tool) int {
	t.Helper()
	defs := make([]any, 0, len(tools))
	for _, tl := range tools {
		defs = append(defs, tl.Def)
	}
	raw, err := json.Marshal(defs)
	if err != nil {
		t.Fatal(err)
	}
	return len(raw)
}

// listed is what a new session lists under sel.
func listed(t testing.TB, sel Selection) []Tool {
	t.Helper()
	b, err := NewToolbox(&Deps{}, All(&Deps{}), sel)
	if err != nil {
		t.Fatal(err)
	}
	return b.Listed()
}

// TestCampaignsListedFromTheStart: the campaigns toolset is in the default set (issue 13), so
// a session lists every campaign tool without enable_toolset, and enable_toolset does not
// offer it.
func TestCampaignsListedFromTheStart(t *testing.T) {
	b, err := NewToolbox(&Deps{}, All(&Deps{}), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tl := range b.Listed() {
		names[tl.Def.Name] = true
	}
	for _, tl := range campaignTools(&Deps{}) {
		if !names[tl.Def.Name] {
			t.Errorf("%s is not listed from the start", tl.Def.Name)
		}
	}
	if slices.Contains(b.OnRequest(), ToolsetCampaigns) {
		t.Errorf("campaigns is still offered on request: %v", b.OnRequest())
	}
	if !slices.Contains(DefaultToolsets(), ToolsetCampaigns) {
		t.Errorf("DefaultToolsets lacks campaigns: %v", DefaultToolsets())
	}
}

func TestToolsListBudget(t *testing.T) {
	for _, c := range []struct {
		name  string
		sel   Selection
		limit int
	}{
		{"default", Selection{}, budgetDefault},
		{"default with the webhook receiver", Selection{Receiver: true}, budgetDefault},
		{"default, read-only", Selection{ReadOnly: true}, budgetDefault},
		{"every toolset of issue 10 (all but campaigns)", Selection{Toolsets: withoutCampaigns(), Receiver: true}, budgetIssue10},
		{"all", Selection{Toolsets: []string{"all"}, Receiver: true}, budgetAll},
	} {
		tools := listed(t, c.sel)
		if n := listBytes(t, tools); n > c.limit {
			t.Errorf("tools/list for %s is %d bytes (%d tools), over the budget of %d: shorten descriptions, drop property descriptions, or move a toolset to OnRequest",
				c.name, n, len(tools), c.limit)
		}
	}
}

// TestFootprintTableIsCurrent checks the table the README is generated from against the
// budgets, so the published numbers are the tested ones.
func TestFootprintTableIsCurrent(t *testing.T) {
	rows := FootprintRows()
	byName := map[string]FootprintRow{}
	for _, r := range rows {
		byName[r.Set] = r
	}
	def, all := byName[FootprintDefault], byName[FootprintAll]
	if def.Bytes == 0 || all.Bytes == 0 {
		t.Fatalf("footprint rows lack the default or all row: %+v", rows)
	}
	if got := listBytes(t, listed(t, Selection{})); def.Bytes != got {
		t.Errorf("footprint default row says %d bytes, tools/list is %d", def.Bytes, got)
	}
	if def.Bytes > budgetDefault || all.Bytes > budgetAll {
		t.Errorf("footprint over budget: default %d (max %d), all %d (max %d)", def.Bytes, budgetDefault, all.Bytes, budgetAll)
	}
}

// withoutCampaigns is every toolset but campaigns.
func withoutCampaigns() []string {
	var out []string
	for _, ts := range Toolsets() {
		if ts != ToolsetCampaigns {
			out = append(out, ts)
		}
	}
	return out
}

// TestPrintBudget logs bytes per tool and per toolset:
//
//	go test -run TestPrintBudget -v ./tools/
func TestPrintBudget(t *testing.T) {
	t.Log("\n" + FootprintMarkdown() + "\n" + ToolBytesMarkdown())
}

// BenchmarkToolsListBytes encodes tools/list per toolset and reports its bytes and
// approximate tokens (bytes/4).
func BenchmarkToolsListBytes(b *testing.B) {
	for _, set := range append(Toolsets(), "default", "all") {
		sel := Selection{Toolsets: []string{set}, Receiver: true}
		tools := listed(b, sel)
		b.Run(set, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = listBytes(b, tools)
			}
			b.ReportMetric(float64(n), "bytes")
			b.ReportMetric(float64(n)/4, "tokens")
			b.ReportMetric(float64(len(tools)), "tools")
		})
	}
}
