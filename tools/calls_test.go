package tools

import (
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// placeCall starts a hosted call through the API and lets it run to the end when finish is set.
func (e *toolEnv) placeCall(agentID, to string, finish bool) *apiclient.Call {
	e.t.Helper()
	c, err := e.deps.API.CreateCall(e.ctx, apiclient.CreateCallRequest{AgentID: agentID, ToNumber: to,
		SystemPrompt: "--- CALL OBJECTIVE\nask about the delivery\n--- END OBJECTIVE ---"})
	if err != nil {
		e.t.Fatal(err)
	}
	if finish {
		e.settle(60 * time.Second)
	}
	return c
}

func TestListCalls(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Caller")
	b, _ := env.seed("Other")
	done := env.placeCall(a.ID, "+14155550123", true)
	busy := env.placeCall(b.ID, "+14155550197", true)
	tests := []struct {
		args      map[string]any
		want, not []string
	}{
		{map[string]any{}, []string{"2 calls:", done.ID, busy.ID}, nil},
		{map[string]any{"agent_id": a.ID}, []string{"1 calls:", done.ID}, []string{busy.ID}},
		{map[string]any{"number_id": n.ID}, []string{done.ID}, []string{busy.ID}},
		{map[string]any{"status": "busy"}, []string{busy.ID}, []string{done.ID}},
		{map[string]any{"agent_id": a.ID, "status": "busy"}, []string{"No calls found."}, []string{done.ID}},
		{map[string]any{"search": "5550123"}, []string{done.ID}, []string{busy.ID}},
	}
	for _, tt := range tests {
		text, _ := env.ok("list_calls", tt.args)
		mustContain(t, text, tt.want...)
		mustNotContain(t, text, tt.not...)
	}
	for _, bad := range []map[string]any{{"status": "ended"}, {"direction": "sideways"}, {"limit": -1}} {
		env.fails("list_calls", bad)
	}
	text, _ := env.fails("list_calls", map[string]any{"agent_id": "agt_nope"})
	mustContain(t, text, "HTTP 404", "list_agents")
}

func TestGetTranscriptDetails(t *testing.T) {
	env := newToolEnv(t)
	a, _ := env.seed("Caller")
	c := env.placeCall(a.ID, "+14155550123", true)
	text, data := env.ok("get_transcript", map[string]any{"call_id": c.ID})
	mustContain(t, text, c.ID, "completed", "Transcript", UntrustedNotice)
	if data["id"] != c.ID || data["notice"] != UntrustedNotice {
		t.Errorf("view = %v", data)
	}
	if tr, _ := data["transcript"].([]any); len(tr) == 0 {
		t.Errorf("no transcript in %v", data)
	}
	if data["recording_available"] == true && data["recording_url"] == nil {
		t.Errorf("recording available without a URL: %v", data)
	}
	text, _ = env.fails("get_transcript", map[string]any{"call_id": "call_nope"})
	mustContain(t, text, "HTTP 404", "list_calls")
}

func TestEndCall(t *testing.T) {
	env := newToolEnv(t)
	a, _ := env.seed("Caller")
	c := env.placeCall(a.ID, "+14155550123", false)
	env.settle(2 * time.Second)
	text, data := env.ok("end_call", map[string]any{"call_id": c.ID})
	mustContain(t, text, c.ID)
	if data["id"] != c.ID {
		t.Errorf("id = %v", data["id"])
	}
	env.settle(5 * time.Second)
	got, err := env.deps.API.GetCall(env.ctx, c.ID, apiclient.GetCallParams{})
	if err != nil || !got.Status.Terminal() {
		t.Errorf("call after end_call: %+v, %v", got, err)
	}
	text, _ = env.fails("end_call", map[string]any{"call_id": "call_nope"})
	mustContain(t, text, "HTTP 404", "list_calls")
	env.sb.SetFault("POST /v1/calls/{call_id}/end", sandbox.Fault{Status: 500})
	env.fails("end_call", map[string]any{"call_id": c.ID})
}
