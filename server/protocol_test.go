package server

// Protocol details (issue 10 item 6) through real clients over the real transports: an
// unknown resource is -32002 (or -32602 on 2026-07-28) without the API's internals, bad or
// missing prompt arguments are -32602, and no non-spec "elicitation" server capability.

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func TestUnknownResourceIsResourceNotFound(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"stdio", "http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c := h.connectRaw(kind)
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION // 2025-11-25: -32002
			init.Params.ClientInfo = mcp.Implementation{Name: "legacy", Version: "1"}
			if _, err := c.Initialize(h.ctx, init); err != nil {
				t.Fatal(err)
			}
			for _, uri := range []string{"agentphone://calls/call_nope", "agentphone://conversations/conv_nope", "agentphone://calls/a/b", "agentphone://nothing"} {
				req := mcp.ReadResourceRequest{}
				req.Params.URI = uri
				_, err := c.ReadResource(h.ctx, req)
				if !errors.Is(err, mcp.ErrResourceNotFound) {
					t.Fatalf("%s: want JSON-RPC -32002 (resource not found), got %v", uri, err)
				}
				if msg := err.Error(); strings.Contains(msg, "/v1/") || strings.Contains(msg, "agentphone GET") || strings.Contains(msg, "agentphone-rpc") {
					t.Fatalf("%s: the error shows internals: %q", uri, msg)
				}
			}
			// A call that exists still reads.
			agentID, _, _ := h.setupAgentWithNumber(c)
			call := h.confirm(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550142", "topic": "Confirm Tuesday"})
			req := mcp.ReadResourceRequest{}
			req.Params.URI = "agentphone://calls/" + call.str("id")
			if res, err := c.ReadResource(h.ctx, req); err != nil || len(res.Contents) != 1 {
				t.Fatalf("an existing call: %v %v", res, err)
			}
		})
	}
}

func TestUnknownResourceOverHTTPRaw(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.serveRaw("http")
	sid := c.initialize()
	resp, body := c.post(sid, `{"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":"agentphone://calls/call_nope"}}`)
	mustStatus(t, resp, body, http.StatusOK, "legacy resources/read")
	var legacy struct {
		ID    int `json:"id"`
		Error struct {
			Code    int            `json:"code"`
			Message string         `json:"message"`
			Data    map[string]any `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(lastMessage(body)), &legacy); err != nil {
		t.Fatal(err)
	}
	if legacy.ID != 9 || legacy.Error.Code != -32002 || legacy.Error.Message != "Resource not found: agentphone://calls/call_nope" || legacy.Error.Data["uri"] != "agentphone://calls/call_nope" {
		t.Fatalf("legacy answer: %s", body)
	}

	// 2026-07-28: -32602 and HTTP 400, as the spec maps it.
	msg := `{"jsonrpc":"2.0","id":10,"method":"resources/read","params":{"uri":"agentphone://calls/call_nope","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
	resp, body = c.request(http.MethodPost, "/mcp", map[string]string{mcp.HeaderProtocolVersion: "2026-07-28", "Mcp-Method": "resources/read", "Mcp-Name": "agentphone://calls/call_nope"}, msg)
	mustStatus(t, resp, body, http.StatusBadRequest, "2026-07-28 resources/read of an unknown resource")
	if code, m := rpcErr(body); code != mcp.INVALID_PARAMS || strings.Contains(m, "agentphone-rpc") {
		t.Fatalf("2026-07-28 answer: %s", body)
	}
}

func TestPromptArgumentsAreInvalidParams(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"stdio", "http", "sse"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c := h.connect(kind)
			cases := []struct {
				args map[string]string
				want string
			}{
				{map[string]string{"about": "dentist", "when": "Tuesday"}, `needs the argument "to_number"`},
				{map[string]string{"to_number": "  ", "about": "dentist", "when": "Tuesday"}, `needs the argument "to_number"`},
				{map[string]string{"to_number": "+14155550142", "about": "dentist", "when": "Tuesday", "tone": "warm"}, `has no argument "tone"`},
				{map[string]string{"to_number": "+14155550142", "about": "dentist", "when": "Tuesday", "channel": "fax"}, `must be one of "sms", "call"`},
			}
			for _, tc := range cases {
				req := mcp.GetPromptRequest{}
				req.Params.Name, req.Params.Arguments = "send_reminder", tc.args
				_, err := c.GetPrompt(h.ctx, req)
				if !errors.Is(err, mcp.ErrInvalidParams) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "agentphone-rpc") {
					t.Fatalf("%v: want -32602 saying %q, got %v", tc.args, tc.want, err)
				}
			}
			req := mcp.GetPromptRequest{}
			req.Params.Name = "send_reminder"
			req.Params.Arguments = map[string]string{"to_number": "+14155550142", "about": "dentist", "when": "Tuesday", "channel": "call"}
			if res, err := c.GetPrompt(h.ctx, req); err != nil || len(res.Messages) != 1 {
				t.Fatalf("valid arguments: %v %v", res, err)
			}
		})
	}
}

func TestNoElicitationServerCapability(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"stdio", "http"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c := h.connectRaw(kind)
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
			init.Params.ClientInfo = mcp.Implementation{Name: "caps", Version: "1"}
			init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
			res, err := c.Initialize(h.ctx, init)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(res.Capabilities)
			var caps map[string]any
			_ = json.Unmarshal(raw, &caps)
			if _, ok := caps["elicitation"]; ok {
				t.Fatalf("the server advertises a non-spec elicitation capability: %s", raw)
			}
			if _, ok := caps["tools"]; !ok {
				t.Fatalf("capabilities without tools: %s", raw)
			}
		})
	}
}

// connectRaw is connect without the initialize (the test does it).
func (h *harness) connectRaw(kind string) *client.Client {
	h.t.Helper()
	return h.connectWith(kind, false)
}
