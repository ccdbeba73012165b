package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Token budget of tools/list (issue 4): the compact JSON of the tools array, as mcp-go sends
// it. The targets are 16 KB with every toolset and 9 KB for the default set. The
// first holds. The default set (every toolset but webhooks) is 30 tools, and a tool costs
// about 200 bytes before its first argument (name, description, two annotation hints, the
// schema frame), so 9 KB would leave under 100 bytes a tool for what it does: budgetDefault
// is therefore the measured size plus a little headroom, a guard against regressions, and
// targetDefault is the number, logged while it is missed. Issue 11 (get_capabilities,
// send_style and reply_to_message_id, call variables, custom_tools) added about 820 bytes.
const (
	budgetAll     = 16 * 1024
	budgetDefault = 12 * 1024
	targetDefault = 9 * 1024
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

type budgetRow struct {
	name  string
	tools int
	bytes int
}

func budgetTable(t testing.TB) []budgetRow {
	t.Helper()
	all := All(&Deps{})
	var rows []budgetRow
	for _, ts := range Toolsets() {
		sel, err := Select(all, Selection{Toolsets: []string{ts}, Receiver: true})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, budgetRow{ts, len(sel), listBytes(t, sel)})
	}
	// default: what a user gets with no flags (no webhook receiver, so no live tools);
	// all: every toolset with the receiver running.
	for _, r := range []struct {
		name     string
		set      string
		receiver bool
	}{{"default", "default", false}, {"default+receiver", "default", true}, {"all", "all", true}} {
		sel, err := Select(all, Selection{Toolsets: []string{r.set}, Receiver: r.receiver})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, budgetRow{r.name, len(sel), listBytes(t, sel)})
	}
	return rows
}

func TestToolsListBudget(t *testing.T) {
	limits := map[string]int{"default": budgetDefault, "all": budgetAll}
	for _, r := range budgetTable(t) {
		if limit, ok := limits[r.name]; ok && r.bytes > limit {
			t.Errorf("tools/list for %s is %d bytes (%d tools), over the budget of %d: shorten descriptions or drop property descriptions", r.name, r.bytes, r.tools, limit)
		}
		if r.name == "default" && r.bytes > targetDefault {
			t.Logf("default tools/list is %d bytes (%d tools): above the issue's %d-byte target", r.bytes, r.tools, targetDefault)
		}
	}
}

// TestPrintBudget logs the byte and token table (go test -run TestPrintBudget -v ./tools/).
func TestPrintBudget(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-14s %5s %7s %8s\n", "toolset", "tools", "bytes", "~tokens")
	for _, r := range budgetTable(t) {
		fmt.Fprintf(&b, "%-14s %5d %7d %8d\n", r.name, r.tools, r.bytes, r.bytes/4)
	}
	t.Log(b.String())
}

// BenchmarkToolsListBytes encodes tools/list per toolset and reports its bytes and
// approximate tokens (bytes/4).
func BenchmarkToolsListBytes(b *testing.B) {
	all := All(&Deps{})
	for _, set := range append(Toolsets(), "default", "all") {
		sel, err := Select(all, Selection{Toolsets: []string{set}, Receiver: set != "default"})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(set, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = listBytes(b, sel)
			}
			b.ReportMetric(float64(n), "bytes")
			b.ReportMetric(float64(n)/4, "tokens")
			b.ReportMetric(float64(len(sel)), "tools")
		})
	}
}
