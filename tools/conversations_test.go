package tools

import (
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func TestConversations(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Threads")
	if _, err := env.sb.InjectInboundSMS("+14155550111", n.PhoneNumber, "first \u200bmessage"); err != nil {
		t.Fatal(err)
	}
	env.settle(time.Second)
	if _, err := env.sb.InjectInboundSMS("+14155550111", n.PhoneNumber, "unsubscribe"); err != nil {
		t.Fatal(err)
	}
	text, data := env.ok("list_conversations", nil)
	mustContain(t, text, "1 conversations:", "+14155550111", UntrustedNotice)
	conv := items(t, data)[0]["id"].(string)
	text, _ = env.ok("list_conversations", map[string]any{"agent_id": a.ID})
	mustContain(t, text, conv)

	text, data = env.ok("get_conversation", map[string]any{"conversation_id": conv, "limit": 10})
	mustContain(t, text, "first message", "unsubscribe", UntrustedNotice)
	mustNotContain(t, text, "\u200b")
	if data["id"] != conv || len(data["messages"].([]any)) != 2 {
		t.Errorf("view = %v", data)
	}
	opted, err := env.deps.Policy.OptOuts().List(env.ctx)
	if err != nil || len(opted) != 1 || opted[0].E164 != "+14155550111" {
		t.Errorf("opt-outs = %+v, %v", opted, err)
	}

	text, data = env.ok("get_conversation", map[string]any{"conversation_id": conv, "limit": 1})
	mustContain(t, text, "unsubscribe", "Older messages: call again with before=")
	_, data = env.ok("get_conversation", map[string]any{"conversation_id": conv, "before": data["next_before"]})
	if its := items(t, data); len(its) != 1 || its[0]["body"] != "first message" {
		t.Errorf("older page: %v", data)
	}

	text, _ = env.fails("get_conversation", map[string]any{"conversation_id": "conv_nope"})
	mustContain(t, text, "HTTP 404", "list_conversations")
	text, _ = env.fails("get_conversation", map[string]any{"conversation_id": conv, "limit": 101})
	mustContain(t, text, "limit must be between 1 and 100")
	text, _ = env.fails("get_conversation", map[string]any{"conversation_id": conv, "before": "yesterday"})
	mustContain(t, text, "RFC 3339")
	env.sb.SetFault("GET /v1/conversations", sandbox.Fault{Status: 500})
	env.fails("list_conversations", nil)
}

func TestUpdateConversation(t *testing.T) {
	env := newToolEnv(t)
	_, n := env.seed("Meta")
	if _, err := env.sb.InjectInboundSMS("+14155550111", n.PhoneNumber, "hi"); err != nil {
		t.Fatal(err)
	}
	page, err := env.deps.API.ListConversations(env.ctx, apiListAll)
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("conversations: %v", err)
	}
	conv := page.Data[0].ID
	text, data := env.ok("update_conversation", map[string]any{"conversation_id": conv, "metadata": map[string]any{"stage": "booked\u202e"}})
	mustContain(t, text, "Set the metadata", "1 keys")
	meta, _ := data["metadata"].(map[string]any)
	if meta["stage"] != "booked" {
		t.Errorf("metadata = %v (sanitised value expected)", data["metadata"])
	}
	text, data = env.ok("update_conversation", map[string]any{"conversation_id": conv, "metadata": nil})
	mustContain(t, text, "Cleared")
	if v, present := data["metadata"]; !present || v != nil {
		t.Errorf("metadata after clearing = %v", data["metadata"])
	}
	// {} clears too: the schema's type is "object" (no type array), so a client that checks
	// arguments against it cannot send null.
	env.ok("update_conversation", map[string]any{"conversation_id": conv, "metadata": map[string]any{"stage": "again"}})
	text, data = env.ok("update_conversation", map[string]any{"conversation_id": conv, "metadata": map[string]any{}})
	mustContain(t, text, "Cleared")
	if v, present := data["metadata"]; !present || v != nil {
		t.Errorf("metadata after clearing with {} = %v", data["metadata"])
	}
	text, _ = env.fails("update_conversation", map[string]any{"conversation_id": conv})
	mustContain(t, text, "metadata is required")
	text, _ = env.fails("update_conversation", map[string]any{"conversation_id": conv, "metadata": "x"})
	mustContain(t, text, `"metadata"`)
}
