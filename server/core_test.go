package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func TestInitializeSaysSandbox(t *testing.T) {
	h := newHarness(t)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			c := h.connect(tr)
			tools, err := c.ListTools(h.ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(tools.Tools) != len(h.app.Tools()) {
				t.Fatalf("tools/list over %s: %d tools, want %d", tr, len(tools.Tools), len(h.app.Tools()))
			}
			r := h.call(c, "get_transcript", map[string]any{"call_id": "call_missing"})
			if !r.isError || !strings.Contains(r.text, SandboxNotice) {
				t.Fatalf("result over %s lacks the sandbox notice: %s", tr, r.text)
			}
			if r.data["sandbox"] != true {
				t.Fatalf("structuredContent lacks sandbox:true: %v", r.data)
			}
		})
	}
}

func TestNoKeyOutsideSandboxRefusesToStart(t *testing.T) {
	cfg, _ := ConfigFromEnv(nil)
	cfg.StateDir = t.TempDir()
	_, err := New(context.Background(), cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), EnvAPIKey) || !strings.Contains(err.Error(), "--sandbox") {
		t.Fatalf("want an error naming %s and --sandbox, got %v", EnvAPIKey, err)
	}
}

func TestBuyNumberConfirmationFlow(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			a := h.mustOK(h.call(c, "create_agent", map[string]any{"name": "Desk"}), "create_agent")
			args := map[string]any{"agent_id": a.str("id"), "area_code": "415"}

			first := h.call(c, "buy_number", args)
			if first.isError || first.str("status") != "confirmation_required" {
				t.Fatalf("first call: want confirmation_required, got %s", first.text)
			}
			tok := first.str("confirmation_token")
			if tok == "" || !strings.Contains(first.text, "$3.00/month") {
				t.Fatalf("preview lacks token or cost: %s", first.text)
			}
			if n := h.countNumbers(); n != 0 {
				t.Fatalf("the preview bought a number: %d numbers", n)
			}

			wrong := h.call(c, "buy_number", with(args, "confirmation_token", tok+"x"))
			if !wrong.isError || wrong.str("status") != "confirmation_refused" {
				t.Fatalf("wrong token: want confirmation_refused, got %s", wrong.text)
			}
			changed := h.call(c, "buy_number", with(with(args, "area_code", "212"), "confirmation_token", tok))
			if !changed.isError || !strings.Contains(changed.text, "mismatch") {
				t.Fatalf("changed args with a valid token: want a mismatch refusal, got %s", changed.text)
			}
			if n := h.countNumbers(); n != 0 {
				t.Fatalf("a refused token bought a number: %d numbers", n)
			}
			// The mismatch used the token up: the previewed action needs a fresh preview.
			if again := h.call(c, "buy_number", with(args, "confirmation_token", tok)); !again.isError || !strings.Contains(again.text, "reused") {
				t.Fatalf("a token presented with other arguments stayed usable: %s", again.text)
			}
			tok = h.call(c, "buy_number", args).str("confirmation_token")

			ok := h.mustOK(h.call(c, "buy_number", with(args, "confirmation_token", tok)), "buy_number confirmed")
			if !strings.HasPrefix(ok.str("id"), "num_") || !strings.HasPrefix(ok.str("phone_number"), "+1415") {
				t.Fatalf("bought number: %v", ok.data)
			}
			reused := h.call(c, "buy_number", with(args, "confirmation_token", tok))
			if !reused.isError || !strings.Contains(reused.text, "reused") {
				t.Fatalf("reused token: want a reuse refusal, got %s", reused.text)
			}
			if n := h.countNumbers(); n != 1 {
				t.Fatalf("want exactly 1 number, got %d", n)
			}
		})
	}
}

func TestTokenExpires(t *testing.T) {
	h := newHarness(t)
	c := h.connect("inprocess")
	first := h.call(c, "buy_number", map[string]any{})
	h.clk.Advance(6 * time.Minute)
	r := h.call(c, "buy_number", map[string]any{"confirmation_token": first.str("confirmation_token")})
	if !r.isError || !strings.Contains(r.text, "expired") {
		t.Fatalf("want an expired-token refusal, got %s", r.text)
	}
}

func TestBadPhoneInput(t *testing.T) {
	h := newHarness(t)
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	cases := []struct {
		to, rule string
	}{
		{"415-555-01a2", "invalid_number"},
		{"call me at 4155550142", "invalid_number"},
		{"+1 415 555 0142 ext. 12", "invalid_number"},
		{"911", "emergency"},
		{"+1 911", "emergency"},
		{"411", "n11"},
		{"+1 900 200 1234", "number_type"},
		{"+44 20 7946 0958", "country"},
		{"+881 2 1234 5678", "global_network"},
	}
	for _, tc := range cases {
		for _, tool := range []string{"send_sms", "make_call"} {
			args := map[string]any{"agent_id": agentID, "to_number": tc.to, "body": "hello"}
			if tool == "make_call" {
				delete(args, "body")
			}
			r := h.call(c, tool, args)
			if !r.isError || r.str("status") != "denied" || r.str("rule") != tc.rule {
				t.Errorf("%s to %q: want denied [%s], got %s", tool, tc.to, tc.rule, r.text)
			}
		}
	}
	if got := h.sentMessages(); got != 0 {
		t.Fatalf("denied sends reached the API: %d messages", got)
	}
}

func TestUnknownArgumentRejected(t *testing.T) {
	h := newHarness(t)
	c := h.connect("inprocess")
	r := h.call(c, "send_sms", map[string]any{"to_number": "+14155550142", "body": "hi", "agent_id": "agt_x", "from": "+1"})
	if !r.isError || !strings.Contains(r.text, `"from"`) {
		t.Fatalf("want an error naming the unknown key, got %s", r.text)
	}
}

func TestUnknownAgentAndAPIFailure(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("inprocess")
	r := h.call(c, "make_call", map[string]any{"agent_id": "agt_nope", "to_number": "+14155550142"})
	if !r.isError || !strings.Contains(r.text, "404") || !strings.Contains(r.text, "list_agents") {
		t.Fatalf("unknown agent: want a 404 with a list_agents hint, got %s", r.text)
	}
	h.sb.SetFault("POST /v1/agents", faultStatus(500))
	r = h.call(c, "create_agent", map[string]any{"name": "X"})
	if !r.isError || !strings.Contains(r.text, "500") {
		t.Fatalf("API 500: want an isError result, got %s", r.text)
	}
}

func TestSendSMSFirstContactThenAllowed(t *testing.T) {
	h := newHarness(t)
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	args := map[string]any{"agent_id": agentID, "to_number": "(415) 555-0142", "body": "Your table is ready."}
	first := h.call(c, "send_sms", args)
	if first.str("status") != "confirmation_required" || !contains(first.data["rules"], "first_contact") {
		t.Fatalf("first contact: want confirm [first_contact], got %s", first.text)
	}
	if !strings.Contains(first.text, "+1 415-555-0142") || !strings.Contains(first.text, "GSM-7") {
		t.Fatalf("preview lacks the readable number or the encoding: %s", first.text)
	}
	h.confirm(c, "send_sms", args)
	if got := h.sentMessages(); got != 1 {
		t.Fatalf("want 1 message sent, got %d", got)
	}
	second := h.mustOK(h.call(c, "send_sms", with(args, "body", "Running 5 minutes late.")), "second sms")
	if second.str("status") == "confirmation_required" {
		t.Fatalf("a known recipient still needs confirmation: %s", second.text)
	}
}

func TestMakeCallWaitReturnsTranscript(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	done := make(chan result, 1)
	go func() {
		done <- h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550142",
			"topic": "Confirm the dentist appointment on Tuesday", "wait": true, "max_wait_seconds": 120})
	}()
	r := h.advanceUntil(done, time.Second)
	h.mustOK(r, "make_call wait")
	if r.str("status") != "completed" {
		t.Fatalf("want completed, got %s", r.text)
	}
	turns, _ := r.data["transcript"].([]any)
	if len(turns) < 2 || !strings.Contains(strings.ToLower(r.text), "dentist") {
		t.Fatalf("want a transcript about the topic, got %s", r.text)
	}
	if !strings.Contains(r.text, "AI") {
		t.Fatalf("the greeting should disclose an AI: %s", r.text)
	}
	tr := h.mustOK(h.call(c, "get_transcript", map[string]any{"call_id": r.str("id")}), "get_transcript")
	if got, _ := tr.data["transcript"].([]any); len(got) != len(turns) {
		t.Fatalf("get_transcript: %d turns, make_call: %d", len(got), len(turns))
	}
}

// advanceUntil moves the fake clock in steps until a result arrives.
func (h *harness) advanceUntil(done <-chan result, step time.Duration) result {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case r := <-done:
			return r
		case <-time.After(5 * time.Millisecond):
			h.clk.Advance(step)
		}
	}
	h.t.Fatal("no result after advancing the clock for 30 s of real time")
	return result{}
}

func (h *harness) countNumbers() int {
	h.t.Helper()
	page, err := h.app.api.ListNumbers(h.ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(page.Data)
}

func (h *harness) sentMessages() int {
	h.t.Helper()
	page, err := h.app.api.ListConversations(h.ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, conv := range page.Data {
		n += conv.MessageCount
	}
	return n
}

func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func contains(list any, s string) bool {
	items, _ := list.([]any)
	for _, it := range items {
		if it == s {
			return true
		}
	}
	return false
}

func faultStatus(code int) sandbox.Fault { return sandbox.Fault{Status: code} }

// TestConfirmedCallRuns checks that the preview of a confirm-tier call is not counted against
// the caps: the confirmed call must go through.
func TestConfirmedCallRuns(t *testing.T) {
	h := newHarness(t)
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	args := map[string]any{"agent_id": agentID, "to_number": "+14155550142", "topic": "Say hello"}
	r := h.confirm(c, "make_call", args)
	if !strings.HasPrefix(r.str("id"), "call_") {
		t.Fatalf("confirmed call: %s", r.text)
	}
}
