package tools

import (
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func TestWebhooks(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Hooked")
	text, data := env.ok("get_webhook", nil)
	mustContain(t, text, "No project webhook")
	if data["configured"] != false {
		t.Errorf("view = %v", data)
	}
	for _, bad := range []string{"http://example.com/h", "ftp://example.com", "https://user:pw@example.com/h", "not a url"} {
		text, _ := env.fails("set_webhook", map[string]any{"url": bad})
		mustContain(t, text, "https URL")
	}
	env.fails("set_webhook", map[string]any{"url": "https://example.com/h", "context_limit": 51})
	env.fails("set_webhook", map[string]any{"url": "https://example.com/h", "timeout": 4})

	for _, scope := range []map[string]any{{}, {"agent_id": a.ID}} {
		args := map[string]any{"url": "https://hooks.example.com/ap", "context_limit": 5, "timeout": 20}
		for k, v := range scope {
			args[k] = v
		}
		text, first := env.ok("set_webhook", args)
		mustContain(t, text, "Confirmation required", "hooks.example.com")
		if first["status"] != "confirmation_required" {
			t.Fatalf("status = %v", first["status"])
		}
		text, data = env.confirmed("set_webhook", args)
		mustContain(t, text, "agentphone-mcp webhook-secret")
		secret := env.currentSecret(scope)
		if secret == "" {
			t.Fatal("no secret stored")
		}
		mustNotContain(t, text+mustJSON(t, data), secret)
		text, data = env.ok("get_webhook", scope)
		mustContain(t, text, "https://hooks.example.com/ap", "webhook-secret")
		mustNotContain(t, text+mustJSON(t, data), secret)
		if _, agent := scope["agent_id"]; agent {
			mustContain(t, text, "--agent "+a.ID)
		}
	}

	text, data = env.ok("test_webhook", nil)
	mustContain(t, text, "delivered")
	if data["success"] != true {
		t.Errorf("test = %v", data)
	}
	if _, err := env.sb.InjectInboundSMS("+14155550111", n.PhoneNumber, "hello"); err != nil {
		t.Fatal(err)
	}
	env.settle(2 * time.Second)
	text, data = env.ok("list_webhook_deliveries", map[string]any{"agent_id": a.ID, "hours": 5})
	mustContain(t, text, "hours applies to the project webhook only")
	if len(items(t, data)) == 0 {
		t.Errorf("no agent deliveries: %s", text)
	}
	_, data = env.ok("list_webhook_deliveries", map[string]any{"limit": 10, "hours": 24})
	if _, ok := data["total"]; !ok {
		t.Errorf("project deliveries: %v", data)
	}

	_, first := env.ok("delete_webhook", map[string]any{"agent_id": a.ID})
	text, _ = env.ok("delete_webhook", map[string]any{"agent_id": a.ID, "confirmation_token": first["confirmation_token"]})
	mustContain(t, text, "Deleted the webhook of agent "+a.ID)
	text, _ = env.ok("get_webhook", map[string]any{"agent_id": a.ID})
	mustContain(t, text, "No webhook of agent")

	env.sb.SetFault("GET /v1/webhooks/deliveries", sandbox.Fault{Status: 500})
	env.fails("list_webhook_deliveries", nil)
	env.fails("list_webhook_deliveries", map[string]any{"limit": 101})
}

// currentSecret reads the stored secret through the API, as the operator CLI would.
func (e *toolEnv) currentSecret(scope map[string]any) string {
	e.t.Helper()
	if id, ok := scope["agent_id"].(string); ok {
		w, err := e.deps.API.GetAgentWebhook(e.ctx, id)
		if err != nil || w == nil {
			e.t.Fatalf("agent webhook: %v", err)
		}
		return w.Secret
	}
	w, err := e.deps.API.GetWebhook(e.ctx)
	if err != nil || w == nil {
		e.t.Fatalf("project webhook: %v", err)
	}
	return w.Secret
}
