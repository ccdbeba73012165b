package tools

import (
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func TestListMessagesObservesOptOut(t *testing.T) {
	env := newToolEnv(t)
	_, n := env.seed("Inbox")
	if _, err := env.sb.InjectInboundSMS("+14155550111", n.PhoneNumber, "hello \u202ethere"); err != nil {
		t.Fatal(err)
	}
	env.settle(time.Second)
	if _, err := env.sb.InjectInboundSMS("+14155550122", n.PhoneNumber, "STOP"); err != nil {
		t.Fatal(err)
	}
	text, data := env.ok("list_messages", map[string]any{"number_id": n.ID})
	mustContain(t, text, "2 messages:", "+14155550111", UntrustedNotice)
	mustNotContain(t, text, "\u202e")
	if data["notice"] != UntrustedNotice {
		t.Errorf("notice = %v", data["notice"])
	}
	optedOut, err := env.deps.Policy.OptOuts().List(env.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(optedOut) != 1 || optedOut[0].E164 != "+14155550122" {
		t.Errorf("opt-outs = %+v, want +14155550122 only", optedOut)
	}
	dec, err := env.deps.Policy.Evaluate(env.ctx, policy.Action{Tool: "send_sms", Kind: policy.KindSMS, To: "+14155550122", Body: "hi"})
	if err != nil || dec.Outcome != policy.Deny {
		t.Errorf("texting an opted-out number: %v, %v", dec.Outcome, err)
	}

	// Paging by time cursor.
	text, data = env.ok("list_messages", map[string]any{"number_id": n.ID, "limit": 1})
	if data["has_more"] != true || data["next_before"] == nil {
		t.Fatalf("first page: %v", data)
	}
	mustContain(t, text, "before=")
	_, data = env.ok("list_messages", map[string]any{"number_id": n.ID, "limit": 1, "before": data["next_before"]})
	if its := items(t, data); len(its) != 1 || its[0]["from"] != "+14155550111" {
		t.Errorf("second page: %v", data)
	}
	for _, bad := range []map[string]any{{"number_id": n.ID, "before": "yesterday"}, {"number_id": n.ID, "limit": 500}, {}} {
		env.fails("list_messages", bad)
	}
	text, _ = env.fails("list_messages", map[string]any{"number_id": "num_nope"})
	mustContain(t, text, "HTTP 404", "list_numbers")
}

func TestReactToMessage(t *testing.T) {
	env := newToolEnv(t)
	_, n := env.seed("Reactor")
	imsg, err := env.sb.InjectInboundMessage(sandbox.InboundMessage{From: "+14155550111", To: n.PhoneNumber, Body: "see you", Channel: "imessage"})
	if err != nil {
		t.Fatal(err)
	}
	sms, err := env.sb.InjectInboundSMS("+14155550112", n.PhoneNumber, "plain sms")
	if err != nil {
		t.Fatal(err)
	}
	text, data := env.ok("react_to_message", map[string]any{"message_id": imsg, "reaction": "love"})
	mustContain(t, text, "love", imsg)
	if data["message_id"] != imsg {
		t.Errorf("view = %v", data)
	}
	text, _ = env.fails("react_to_message", map[string]any{"message_id": sms, "reaction": "like"})
	mustContain(t, text, "HTTP 400", "iMessage")
	text, _ = env.fails("react_to_message", map[string]any{"message_id": imsg, "reaction": "🔥"})
	mustContain(t, text, "reaction must be one of")
}
