package tools

import (
	"fmt"
	"strings"
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

// TestSendSMS: send_sms refuses arguments it cannot use, naming the fix, and sends nothing;
// a first text to a stranger needs confirmation, then goes out once with the token.
func TestSendSMS(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Texter")
	for _, tt := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"agent_id": a.ID, "body": "hi"}, "to_number is required"},
		{map[string]any{"agent_id": a.ID, "to_number": "+14155550123", "recipients": []any{"+14155550124", "+14155550125"}, "body": "hi"}, "not both"},
		{map[string]any{"agent_id": a.ID, "recipients": []any{"+14155550124"}, "body": "hi"}, "recipients must list 2 to"},
		{map[string]any{"agent_id": a.ID, "to_number": "+14155550123"}, "body is required"},
		{map[string]any{"to_number": "+14155550123", "body": "hi"}, "name the sender"},
		{map[string]any{"number_id": n.ID, "to_number": "+14155550123", "body": "hi", "media_urls": []any{"http://x.example.com/a.png"}}, "not a public https URL"},
		{map[string]any{"number_id": n.ID, "to_number": "+14155550123", "body": "hi", "reply_to_message_id": "a b"}, "reply_to_message_id must be"},
		{map[string]any{"from_number": "12", "to_number": "+14155550123", "body": "hi"}, "from_number:"},
	} {
		text, _ := env.fails("send_sms", tt.args)
		mustContain(t, text, tt.want, "Nothing was done")
	}
	// What the API holds for the sender's number.
	texts := func() []any {
		_, data := env.ok("list_messages", map[string]any{"number_id": n.ID})
		items, _ := data["items"].([]any)
		return items
	}
	if sent := texts(); len(sent) != 0 {
		t.Fatalf("refused calls sent %d messages: %v", len(sent), sent)
	}
	text, data := env.confirmed("send_sms", map[string]any{"agent_id": a.ID, "to_number": "+14155550123", "body": "Your table is ready."})
	if data["id"] == nil || data["id"] == "" {
		t.Fatalf("sent result lacks the message id: %s %v", text, data)
	}
	if sent := texts(); len(sent) != 1 || !strings.Contains(fmt.Sprint(sent[0]), "Your table is ready.") {
		t.Fatalf("the API holds %v, want the one text", sent)
	}
}
