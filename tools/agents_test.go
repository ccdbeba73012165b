package tools

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func TestListAgentsPaging(t *testing.T) {
	env := newToolEnv(t)
	for i := range 3 {
		env.seed(fmt.Sprintf("Agent %d", i))
	}
	text, data := env.ok("list_agents", map[string]any{"limit": 2})
	mustContain(t, text, "2 agents:", "offset=2")
	if data["has_more"] != true || data["next_offset"] != float64(2) || len(items(t, data)) != 2 {
		t.Errorf("first page: %v", data)
	}
	text, data = env.ok("list_agents", map[string]any{"limit": 2, "offset": 2})
	mustContain(t, text, "1 agents:")
	mustNotContain(t, text, "offset=")
	if data["has_more"] != false {
		t.Errorf("last page has_more = %v", data["has_more"])
	}
	text, _ = env.fails("list_agents", map[string]any{"limit": 500})
	mustContain(t, text, "limit must be between 1 and 100")
}

func TestGetAgent(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Reception")
	text, data := env.ok("get_agent", map[string]any{"agent_id": a.ID})
	mustContain(t, text, a.ID, n.PhoneNumber, "opening hours")
	if data["id"] != a.ID {
		t.Errorf("id = %v", data["id"])
	}
	text, data = env.fails("get_agent", map[string]any{"agent_id": "agt_nope"})
	mustContain(t, text, "HTTP 404", "list_agents")
	if data["http_status"] != float64(404) {
		t.Errorf("http_status = %v", data["http_status"])
	}
	text, _ = env.fails("get_agent", map[string]any{})
	mustContain(t, text, "agent_id is required")
}

func TestListVoices(t *testing.T) {
	env := newToolEnv(t)
	text, data := env.ok("list_voices", nil)
	its := items(t, data)
	if len(its) == 0 {
		t.Fatal("no voices")
	}
	mustContain(t, text, its[0]["id"].(string))
}

func TestUpdateAgent(t *testing.T) {
	env := newToolEnv(t)
	a, _ := env.seed("Old name")

	// A plain settings change is allowed at once.
	text, data := env.ok("update_agent", map[string]any{"agent_id": a.ID, "name": "New name", "tuning": map[string]any{"voice_speed": 1.2}})
	mustContain(t, text, "New name", "name, tuning")
	if data["name"] != "New name" || data["voice_speed"] != 1.2 {
		t.Errorf("view = %v", data)
	}

	// A new system prompt needs confirmation; nothing changes before it.
	args := map[string]any{"agent_id": a.ID, "system_prompt": "Book appointments politely."}
	_, first := env.ok("update_agent", args)
	if first["status"] != "confirmation_required" {
		t.Fatalf("status = %v, want confirmation_required", first["status"])
	}
	got, err := env.deps.API.GetAgent(env.ctx, a.ID)
	if err != nil || got.SystemPrompt == "Book appointments politely." {
		t.Fatalf("prompt changed before confirmation (err %v)", err)
	}
	_, data = env.confirmed("update_agent", args)
	if data["system_prompt"] != "Book appointments politely." {
		t.Errorf("system_prompt = %v", data["system_prompt"])
	}

	// The transfer number goes through the number rules.
	text, data = env.fails("update_agent", map[string]any{"agent_id": a.ID, "transfer_number": "911"})
	if data["status"] != "denied" {
		t.Errorf("status = %v (%s)", data["status"], text)
	}
	bad := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"agent_id": a.ID}, "at least one setting"},
		{map[string]any{"agent_id": a.ID, "tuning": map[string]any{"voice_speed": 3}}, "tuning.voice_speed must be between"},
		{map[string]any{"agent_id": a.ID, "tuning": map[string]any{"stt_mode": "slow"}}, "tuning.stt_mode must be one of"},
		{map[string]any{"agent_id": a.ID, "tuning": map[string]any{"speed": 1}}, `unknown key "speed" in tuning; tuning accepts: voice_speed`},
		{map[string]any{"agent_id": a.ID, "name": "  "}, "name cannot be empty"},
	}
	for _, tt := range bad {
		text, _ := env.fails("update_agent", tt.args)
		mustContain(t, text, tt.want)
	}
	text, _ = env.fails("update_agent", map[string]any{"agent_id": "agt_nope", "name": "x"})
	mustContain(t, text, "HTTP 404", "list_agents")
}

func TestDeleteAgentConfirmation(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Temp")
	args := map[string]any{"agent_id": a.ID}
	text, first := env.ok("delete_agent", args)
	mustContain(t, text, "Confirmation required", "irreversible", "Temp")
	if _, err := env.deps.API.GetAgent(env.ctx, a.ID); err != nil {
		t.Fatalf("agent gone before confirmation: %v", err)
	}
	// A token for other arguments is refused.
	text, _ = env.fails("delete_agent", map[string]any{"agent_id": "agt_other", "confirmation_token": first["confirmation_token"]})
	mustContain(t, text, "HTTP 404")
	wrong, _ := env.fails("delete_agent", map[string]any{"agent_id": a.ID, "confirmation_token": "garbage"})
	mustContain(t, wrong, "confirmation refused")

	text, data := env.confirmed("delete_agent", args)
	mustContain(t, text, "Deleted agent")
	if data["id"] != a.ID {
		t.Errorf("id = %v", data["id"])
	}
	if _, err := env.deps.API.GetAgent(env.ctx, a.ID); !apiclient.IsNotFound(err) {
		t.Errorf("agent still there: %v", err)
	}
	num, err := env.deps.API.GetNumber(env.ctx, n.ID)
	if err != nil || num.Status != apiclient.NumberActive {
		t.Errorf("number after agent deletion: %+v, %v", num, err)
	}
}

func TestUpdateNumberRouting(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("First")
	b, _ := env.seed("Second")

	// Routing needs confirmation; the preview changes nothing.
	text, data := env.ok("update_number", map[string]any{"number_id": n.ID, "agent_id": b.ID})
	mustContain(t, text, "agent_change", "route to agent")
	if data["status"] != "confirmation_required" {
		t.Fatalf("routing without confirmation: %v", data)
	}
	if got, _ := env.deps.API.GetNumber(env.ctx, n.ID); got.AgentID != a.ID {
		t.Fatalf("the preview moved the number to %s", got.AgentID)
	}

	text, _ = env.confirmed("update_number", map[string]any{"number_id": n.ID, "agent_id": ""})
	mustContain(t, text, "Detached", n.ID, a.ID)
	got, _ := env.deps.API.GetNumber(env.ctx, n.ID)
	if got.AgentID != "" {
		t.Errorf("number still on %s", got.AgentID)
	}
	text, _ = env.confirmed("update_number", map[string]any{"number_id": n.ID, "agent_id": ""})
	mustContain(t, text, "nothing to detach")
	text, data = env.confirmed("update_number", map[string]any{"number_id": n.ID, "agent_id": b.ID})
	mustContain(t, text, "Routed", n.PhoneNumber, b.ID)
	if data["agent_id"] != b.ID {
		t.Errorf("agent_id = %v", data["agent_id"])
	}
	text, _ = env.fails("update_number", map[string]any{"number_id": n.ID})
	mustContain(t, text, "agent_id is required")

	// API failures after confirmation are isError results with a hint.
	env.sb.SetFault("POST /v1/agents/{agent_id}/numbers", sandbox.Fault{Status: 500})
	args := map[string]any{"number_id": n.ID, "agent_id": a.ID}
	_, first := env.ok("update_number", args)
	args["confirmation_token"] = first["confirmation_token"]
	text, _ = env.fails("update_number", args)
	mustContain(t, text, "HTTP 500")
}

// TestBindArgsNamesNestedKeys: the schema describes tuning briefly, so a wrong key inside it
// is answered with every key tuning accepts.
func TestBindArgsNamesNestedKeys(t *testing.T) {
	var args createAgentArgs
	msg := bindArgs(map[string]any{"name": "A", "tuning": map[string]any{"speed": 1.2}}, &args)
	for _, want := range []string{`unknown key "speed" in tuning`, "voice_speed", "interruption_sensitivity", "max_silence_ms", "enable_messaging"} {
		if !strings.Contains(msg, want) {
			t.Errorf("bindArgs message %q lacks %q", msg, want)
		}
	}
	if msg := bindArgs(map[string]any{"name": "A", "colour": "red"}, &args); !strings.Contains(msg, `unknown argument "colour"; this tool accepts: name`) {
		t.Errorf("top-level unknown argument: %q", msg)
	}
	var upd updateAgentArgs
	msg = bindArgs(map[string]any{"agent_id": "a", "custom_tools": []any{map[string]any{"name": "x", "verb": "GET"}}}, &upd)
	if !strings.Contains(msg, `unknown key "verb" in custom_tools`) || !strings.Contains(msg, "url") {
		t.Errorf("custom_tools unknown key: %q", msg)
	}
}

func TestCheckCustomTools(t *testing.T) {
	t.Parallel()
	ms := 5000
	good := []CustomToolArg{{Name: "lookup_order", Description: "Find an order", URL: "https://tools.example.com/o", Method: "GET", TimeoutMs: &ms,
		Headers: map[string]string{"X-Api-Version": "2"}, Parameters: map[string]any{"type": "object"}}}
	if msg := checkCustomTools(good); msg != "" {
		t.Errorf("valid tool refused: %s", msg)
	}
	long := 999
	cases := map[string][]CustomToolArg{
		"name must be":          {{Name: "look up", Description: "d", URL: "https://x.example.com"}},
		"used twice":            {{Name: "a", Description: "d", URL: "https://x.example.com"}, {Name: "a", Description: "d", URL: "https://x.example.com"}},
		"description is":        {{Name: "a", URL: "https://x.example.com"}},
		"url is required":       {{Name: "a", Description: "d"}},
		"method must be":        {{Name: "a", Description: "d", URL: "https://x.example.com", Method: "DELETE"}},
		"timeout_ms must be":    {{Name: "a", Description: "d", URL: "https://x.example.com", TimeoutMs: &long}},
		"not a valid header":    {{Name: "a", Description: "d", URL: "https://x.example.com", Headers: map[string]string{"X-A": "b\r\nInjected: 1"}}},
		"at most 16384 bytes":   {{Name: "a", Description: "d", URL: "https://x.example.com", Parameters: map[string]any{"d": strings.Repeat("x", 17000)}}},
		"custom_tools: at most": make([]CustomToolArg, 21),
	}
	for want, tools := range cases {
		if msg := checkCustomTools(tools); !strings.Contains(msg, want) {
			t.Errorf("%q: got %q", want, msg)
		}
	}
	urls, texts, details := customToolsPolicy(good)
	if len(urls) != 1 || urls[0] != "https://tools.example.com/o" || !strings.Contains(strings.Join(texts, " "), "X-Api-Version") {
		t.Errorf("policy view: %v %v", urls, texts)
	}
	mustContain(t, details["custom_tool_1"], "lookup_order GET https://tools.example.com/o; Find an order", "header X-Api-Version: 2",
		`parameters {"type":"object"}`, "timeout 5000 ms")
	if _, _, d := customToolsPolicy(nil); !strings.Contains(d["custom_tools"], "every custom tool is removed") {
		t.Errorf("clearing shows %v", d)
	}
}
