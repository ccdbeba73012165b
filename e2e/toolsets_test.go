package e2e

import (
	"slices"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestEnableToolsetOverTheBinary: the built binary with the default toolsets lists a small
// set plus enable_toolset; enable_toolset adds a toolset for the session, the client receives
// notifications/tools/list_changed, and the new tools are then listed and callable. Over
// stdio, Streamable HTTP and SSE.
func TestEnableToolsetOverTheBinary(t *testing.T) {
	t.Parallel()
	env := func(t *testing.T) []string { return sandboxEnv(t, "AGENTPHONE_TOOLSETS=") }
	for _, kind := range []string{"stdio", "http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var c *client.Client
			if kind == "stdio" {
				c = startStdio(t, env(t), "--sandbox")
			} else {
				c = startHTTP(t, kind, env(t), "--sandbox")
			}
			changed := make(chan struct{}, 4)
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == string(mcp.MethodNotificationToolsListChanged) {
					changed <- struct{}{}
				}
			})
			names := func() []string {
				res, err := c.ListTools(ctxFor(t), mcp.ListToolsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, tool := range res.Tools {
					out = append(out, tool.Name)
				}
				return out
			}
			if got := names(); !slices.Contains(got, "enable_toolset") || !slices.Contains(got, "create_campaign") || slices.Contains(got, "create_agent") {
				t.Fatalf("default list (campaigns listed, agents on request): %v", got)
			}
			r := mustOK(t, callTool(t, c, "enable_toolset", map[string]any{"toolset": "agents"}), "enable_toolset")
			if r.str("scope") != "session" {
				t.Fatalf("scope %q, want session", r.str("scope"))
			}
			select {
			case <-changed:
			case <-ctxFor(t).Done():
				t.Fatal("no notifications/tools/list_changed")
			}
			if got := names(); !slices.Contains(got, "create_agent") {
				t.Fatalf("after enable_toolset agents: %v", got)
			}
			mustOK(t, callTool(t, c, "create_agent", map[string]any{"name": "Enabled"}), "create_agent")
		})
	}
}
