package e2e

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func mustDenied(t *testing.T, r result, rule, what string) {
	t.Helper()
	if !r.isError || r.str("status") != "denied" || r.str("rule") != rule || !strings.Contains(r.text, "["+rule+"]") {
		t.Fatalf("%s: want denied [%s], got isError=%v %v %s", what, rule, r.isError, r.data, r.text)
	}
}

// TestOptOutsWithTheBinary drives the built binary over stdio against the simulated API on
// loopback, where the test plays the people on the other end: a STOP that no tool ever read
// denies the next text and call; a callee who says "stop calling me" is not called again but
// may still be texted.
func TestOptOutsWithTheBinary(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{APIKey: testKey, RingTime: 20 * time.Millisecond, TurnTime: 20 * time.Millisecond})
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := startStdio(t, []string{
		"AGENTPHONE_API_KEY=" + testKey, "AGENTPHONE_BASE_URL=" + srv.URL, "AGENTPHONE_SANDBOX=",
		"AGENTPHONE_STATE_DIR=" + t.TempDir(), "AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_LOG_LEVEL=warn",
		"AGENTPHONE_CONFIRM_MODE=auto", "AGENTPHONE_TOOLSETS=all",
	})
	agent := confirmed(t, c, "create_agent", map[string]any{"name": "Desk", "voice_mode": "hosted", "system_prompt": "Be brief."})
	agentID := agent.str("id")
	num := confirmed(t, c, "buy_number", map[string]any{"agent_id": agentID, "area_code": "415"})
	ours := num.str("phone_number")

	const texted = "+14155550142"
	confirmed(t, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": texted, "body": "Your table is ready."})
	if _, err := sb.InjectInboundSMS(texted, ours, "STOP"); err != nil {
		t.Fatal(err)
	}
	mustDenied(t, callTool(t, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": texted, "body": "Coming?"}), "opted_out", "text after STOP")
	mustDenied(t, callTool(t, c, "make_call", map[string]any{"agent_id": agentID, "to_number": texted}), "opted_out", "call after STOP")

	const called = "+14155550143"
	sb.SetCalleeLines(called, "Hello?", "Stop calling me. Do not call me again.")
	r := confirmed(t, c, "make_call", map[string]any{"agent_id": agentID, "to_number": called, "topic": "the delivery", "wait": true, "max_wait_seconds": 60})
	if r.str("status") != "completed" || !strings.Contains(r.text, "asked not to be called again") {
		t.Fatalf("the waited call does not report the spoken opt-out: %s", r.text)
	}
	mustDenied(t, callTool(t, c, "make_call", map[string]any{"agent_id": agentID, "to_number": called}), "opted_out", "call after 'stop calling me'")
	confirmed(t, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": called, "body": "Sorry for the call; no more calls."})
}

// TestOperatorCodeHiddenWithTheBinary: in strict mode the code texted to the operator's phone
// (read here straight from the simulated API) shows in no list or read the model can make.
func TestOperatorCodeHiddenWithTheBinary(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{APIKey: testKey})
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := startStdio(t, []string{
		"AGENTPHONE_API_KEY=" + testKey, "AGENTPHONE_BASE_URL=" + srv.URL, "AGENTPHONE_SANDBOX=",
		"AGENTPHONE_STATE_DIR=" + t.TempDir(), "AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_LOG_LEVEL=warn",
		"AGENTPHONE_CONFIRM_MODE=strict", "AGENTPHONE_OPERATOR_PHONE=+1 415 555 0123", "AGENTPHONE_TOOLSETS=all",
	})
	agentID := mustOK(t, callTool(t, c, "create_agent", map[string]any{"name": "Desk"}), "create_agent").str("id")
	// The first number is bought outside the server (strict mode needs a number to text from).
	numberID, ours := buyDirect(t, srv.URL, agentID)
	first := callTool(t, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+14155550142", "body": "Hi"})
	if first.str("status") != "confirmation_required" {
		t.Fatalf("want a confirmation, got %s", first.text)
	}
	code := operatorCode(t, srv.URL, numberID)
	if _, err := sb.InjectInboundSMS("+14155550123", ours, "ok "+code); err != nil {
		t.Fatal(err)
	}
	for _, read := range []struct {
		tool string
		args map[string]any
	}{
		{"list_conversations", map[string]any{}},
		{"list_messages", map[string]any{"number_id": numberID}},
		{"wait_for_reply", map[string]any{"number_id": numberID, "participant": "+14155550123", "since": "2000-01-01T00:00:00Z", "timeout_seconds": 1}},
	} {
		r := callTool(t, c, read.tool, read.args)
		if strings.Contains(r.text, code) || strings.Contains(strings.Join(mapValues(r.data), " "), code) {
			t.Fatalf("%s shows the operator's code %s: %s", read.tool, code, r.text)
		}
	}
	// Without a webhook receiver the inbox resource reads the API: filtered the same way.
	for _, uri := range []string{"agentphone://inbox", "agentphone://numbers"} {
		rr, err := c.ReadResource(ctxFor(t), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		for _, content := range rr.Contents {
			if tc, ok := content.(mcp.TextResourceContents); ok && strings.Contains(tc.Text, code) {
				t.Fatalf("%s shows the operator's code: %s", uri, tc.Text)
			}
		}
	}
	r := callTool(t, c, "send_sms", with(map[string]any{"agent_id": agentID, "to_number": "+14155550142", "body": "Hi"}, "confirmation_token", first.str("confirmation_token")+":"+code))
	mustOK(t, r, "TOKEN:CODE from the operator's phone")
}
