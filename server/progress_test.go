package server

// Progress (issue 10 item 4): tools.SendProgress writes every notification before the
// result of its request, on that request's own stream, over every transport; checked with
// mcp-go's client (which drops a notification that arrives after the result) and byte by
// byte over Streamable HTTP with the session's GET stream open.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

const progressBurst = 200

// addProgressProbe registers a tool that sends n progress notifications through
// tools.SendProgress and returns at once: the worst case for ordering.
func addProgressProbe(h *harness) {
	h.app.MCP().AddTool(mcp.NewTool("progress_probe", mcp.WithDescription("test: progress burst"),
		mcp.WithNumber("n", mcp.Required())),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			n := req.GetInt("n", 0)
			for i := 1; i <= n; i++ {
				if err := tools.SendProgress(ctx, float64(i), float64(n), fmt.Sprintf("step %d", i)); err != nil {
					return mcp.NewToolResultError("progress failed: " + err.Error()), nil
				}
			}
			return mcp.NewToolResultText("done"), nil
		})
}

func TestProgressArrivesBeforeTheResult(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"stdio", "http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			addProgressProbe(h)
			var c *client.Client
			if kind == "http" {
				// The session's standalone GET stream is open, as real clients keep it.
				srv := newHTTPTestServer(h)
				//lint:ignore SA1019 the legacy standalone GET stream is exactly what this test needs open
				tr, err := transport.NewStreamableHTTP(srv+"/mcp", transport.WithContinuousListening())
				if err != nil {
					t.Fatal(err)
				}
				c = client.NewClient(tr)
				if err := c.Start(h.ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				init := mcp.InitializeRequest{}
				init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
				init.Params.ClientInfo = mcp.Implementation{Name: "progress", Version: "1"}
				if _, err := c.Initialize(h.ctx, init); err != nil {
					t.Fatal(err)
				}
			} else {
				c = h.connect(kind)
			}
			var mu sync.Mutex
			var got []float64
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method != string(mcp.MethodNotificationProgress) {
					return
				}
				p, _ := n.Params.AdditionalFields["progress"].(float64)
				mu.Lock()
				got = append(got, p)
				mu.Unlock()
			})
			for round := 0; round < 3; round++ {
				mu.Lock()
				got = nil
				mu.Unlock()
				req := mcp.CallToolRequest{}
				req.Params.Name = "progress_probe"
				req.Params.Arguments = map[string]any{"n": progressBurst}
				req.Params.Meta = &mcp.Meta{ProgressToken: fmt.Sprintf("tok-%d", round)}
				res, err := c.CallTool(h.ctx, req)
				if err != nil || res.IsError {
					t.Fatalf("progress_probe: %v %v", res, err)
				}
				mu.Lock()
				n := len(got)
				inOrder := true
				for i, p := range got {
					if p != float64(i+1) {
						inOrder = false
					}
				}
				mu.Unlock()
				if n != progressBurst || !inOrder {
					t.Fatalf("round %d: %d of %d progress notifications arrived before the result (in order: %v)", round, n, progressBurst, inOrder)
				}
			}
		})
	}
}

func TestProgressGoesOnThePOSTStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	addProgressProbe(h)
	c := h.serveRaw("http")
	sid := c.initialize()
	get := c.openStream("/mcp", map[string]string{mcpserver.HeaderKeySessionID: sid})
	for round := 0; round < 3; round++ {
		resp, body := c.post(sid, toolCallMsg(10+round, "progress_probe", map[string]any{"n": 50}, "p"+fmt.Sprint(round)))
		mustStatus(t, resp, body, http.StatusOK, "tools/call with a progress token")
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("the POST's response is %q, not a stream carrying the progress", ct)
		}
		msgs := sseMessages(body)
		if len(msgs) != 51 {
			t.Fatalf("round %d: %d events on the POST stream, want 50 progress + the result: %.300s", round, len(msgs), body)
		}
		for i, m := range msgs[:50] {
			var n struct {
				Method string `json:"method"`
				Params struct {
					Progress      float64 `json:"progress"`
					Total         float64 `json:"total"`
					ProgressToken string  `json:"progressToken"`
				} `json:"params"`
			}
			if err := json.Unmarshal([]byte(m), &n); err != nil || n.Method != "notifications/progress" || n.Params.Progress != float64(i+1) ||
				n.Params.Total != 50 || n.Params.ProgressToken != "p"+fmt.Sprint(round) {
				t.Fatalf("event %d: %s", i, m)
			}
		}
		var result struct {
			ID     int `json:"id"`
			Result struct {
				Content []map[string]any `json:"content"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(msgs[50]), &result); err != nil || result.ID != 10+round || len(result.Result.Content) == 0 {
			t.Fatalf("the last event is not the result: %s", msgs[50])
		}
	}
	for _, e := range get.received() {
		if strings.Contains(e, "notifications/progress") {
			t.Fatalf("progress reached the standalone GET stream: %s", e)
		}
	}
	// Without a progress token the answer stays plain JSON.
	resp, body := c.post(sid, toolCallMsg(20, "progress_probe", map[string]any{"n": 5}, nil))
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || !strings.Contains(body, `"done"`) {
		t.Fatalf("without a progress token: %s %s", ct, body)
	}
}

func TestSendProgressAfterReturnIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	leaked := make(chan context.Context, 1)
	h.app.MCP().AddTool(mcp.NewTool("leaky", mcp.WithDescription("test: keeps its context")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			leaked <- ctx
			return mcp.NewToolResultText("ok"), nil
		})
	c := h.connect("stdio")
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Meta = "leaky", &mcp.Meta{ProgressToken: "late"}
	if _, err := c.CallTool(h.ctx, req); err != nil {
		t.Fatal(err)
	}
	ctx := <-leaked
	if err := tools.SendProgress(ctx, 1, 0, "too late"); err != tools.ErrRequestDone {
		t.Fatalf("SendProgress after the result: %v, want ErrRequestDone", err)
	}
}

// newHTTPTestServer serves the App's Streamable HTTP handler and returns its URL.
func newHTTPTestServer(h *harness) string {
	return h.serveRaw("http").base
}
