package tools

import (
	"encoding/json"
	"testing"
)

// Token budget of tools/list (issue 10): the compact JSON of the tools array a session lists,
// as mcp-go sends it. With every toolset listed it must stay within 16 KB, and the default
// set (what a session lists from the start when the operator sets nothing, enable_toolset
// included) within 9 KB. The default set, which every session pays for, is held to the
// stricter reading (9,000 bytes); every toolset together is held to 16 KiB (16,384 bytes)
// for the toolsets issue 10 measured. The campaigns toolset (issue 13, seven tools, offered on
// request only) came after: it has its own budget, and every toolset with it a guard that
// says how far the whole list is over the 16 KiB (see the README's footprint table).
const (
	budgetAll          = 16 * 1024
	budgetDefault      = 9_000
	budgetCampaigns    = 3_000
	budgetAllCampaigns = budgetAll + budgetCampaigns
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

func TestToolsListBudget(t *testing.T) {
	for _, c := range []struct {
		name  string
		sel   Selection
		limit int
	}{
		{"default", Selection{}, budgetDefault},
		{"default with the webhook receiver", Selection{Receiver: true}, budgetDefault},
		{"default, read-only", Selection{ReadOnly: true}, budgetDefault},
		{"every toolset but campaigns", Selection{Toolsets: withoutCampaigns(), Receiver: true}, budgetAll},
		{"campaigns", Selection{Toolsets: []string{ToolsetCampaigns}}, budgetCampaigns},
		{"all", Selection{Toolsets: []string{"all"}, Receiver: true}, budgetAllCampaigns},
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
	if def.Bytes > budgetDefault || all.Bytes > budgetAllCampaigns {
		t.Errorf("footprint over budget: default %d (max %d), all %d (max %d)", def.Bytes, budgetDefault, all.Bytes, budgetAllCampaigns)
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
