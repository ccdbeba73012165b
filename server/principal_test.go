package server

// Confirmation tokens are bound to who saw the preview (issue 15 item 7, session binding):
// the principal comes from the request: per session on Streamable HTTP and SSE, per bearer
// token for stateless 2026-07-28 requests, per process on stdio.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func TestConfirmationTokenIsBoundToTheSession(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"http", "sse", "inprocess"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			// Sessions exist up to 2025-11-25 (2026-07-28 is stateless: see below).
			shown, other := h.connectLegacy(kind), h.connectLegacy(kind)
			args := map[string]any{"area_code": "415"}
			preview := h.call(shown, "buy_number", args)
			tok := preview.str("confirmation_token")
			if preview.str("status") != "confirmation_required" || tok == "" {
				t.Fatalf("preview: %s", preview.text)
			}
			withTok := map[string]any{"area_code": "415", "confirmation_token": tok}
			if r := h.call(other, "buy_number", withTok); !r.isError || r.str("status") != "confirmation_refused" {
				t.Fatalf("a token shown to one session was accepted on another: %s", r.text)
			}
			if r := h.call(shown, "buy_number", withTok); r.isError || !strings.HasPrefix(r.str("id"), "num_") {
				t.Fatalf("the session that saw the preview could not confirm: %s", r.text)
			}
		})
	}
}

func TestStdioTokenIsBoundToTheProcess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.connect("stdio")
	n := h.confirm(c, "buy_number", map[string]any{"area_code": "415"})
	if !strings.HasPrefix(n.str("id"), "num_") {
		t.Fatalf("stdio confirm: %s", n.text)
	}
}

func TestStatelessTokenIsBoundToTheBearerToken(t *testing.T) {
	t.Parallel()
	h := httpHarness(t, "http")
	a := h.serveRaw("http").with(tokenA)
	b := a.with(tokenB)
	call := func(c rawHTTP, args map[string]any) map[string]any {
		t.Helper()
		params := map[string]any{"name": "buy_number", "arguments": args,
			"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}}}
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
		resp, body := c.request(http.MethodPost, "/mcp", map[string]string{mcp.HeaderProtocolVersion: "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "buy_number"}, string(msg))
		mustStatus(t, resp, body, http.StatusOK, "stateless tools/call")
		var r struct {
			Result struct {
				StructuredContent map[string]any `json:"structuredContent"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(lastMessage(body)), &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return r.Result.StructuredContent
	}
	preview := call(a, map[string]any{"area_code": "415"})
	tok, _ := preview["confirmation_token"].(string)
	if tok == "" {
		t.Fatalf("preview: %v", preview)
	}
	if r := call(b, map[string]any{"area_code": "415", "confirmation_token": tok}); r["status"] != "confirmation_refused" {
		t.Fatalf("another bearer token confirmed: %v", r)
	}
	if r := call(a, map[string]any{"area_code": "415", "confirmation_token": tok}); r["status"] == "confirmation_refused" || r["id"] == nil {
		t.Fatalf("the bearer token that saw the preview could not confirm: %v", r)
	}
}

// connectLegacy is a client initialized at 2025-11-25, the newest version with sessions.
func (h *harness) connectLegacy(kind string) *client.Client {
	h.t.Helper()
	c := h.connectWith(kind, false)
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "legacy", Version: "1"}
	if _, err := c.Initialize(h.ctx, init); err != nil {
		h.t.Fatalf("initialize over %s: %v", kind, err)
	}
	return c
}
