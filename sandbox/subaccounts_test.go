package sandbox

import (
	"context"
	"testing"
)

func TestSubAccountScoping(t *testing.T) {
	eachMode(t, Options{}, func(t *testing.T, h *harness) {
		sub := h.must(200, "POST", "/v1/sub-accounts", map[string]any{"name": "Client A"})["id"].(string)
		scoped := func(method, path string, body any) resp {
			t.Helper()
			return h.doCtx(context.Background(), method, path, body, map[string]string{"Authorization": "Bearer " + testKey, SubAccountHeader: sub})
		}
		masterAgent := h.agent(map[string]any{"name": "Master"})
		_, masterPhone := h.number(masterAgent)

		r := scoped("POST", "/v1/agents", map[string]any{"name": "Sub agent"})
		if r.status != 200 {
			t.Fatalf("create agent in sub-account: %d %s", r.status, r.raw)
		}
		subAgent := r.obj(t)["id"].(string)
		num := scoped("POST", "/v1/numbers", map[string]any{"agentId": subAgent}).obj(t)
		subPhone := num["phoneNumber"].(string)

		// Each account sees only its own resources.
		if l := h.must(200, "GET", "/v1/agents", nil); l["total"] != 1.0 || l["data"].([]any)[0].(map[string]any)["id"] != masterAgent {
			t.Errorf("master agents: %v", l)
		}
		if l := scoped("GET", "/v1/agents", nil).obj(t); l["total"] != 1.0 || l["data"].([]any)[0].(map[string]any)["id"] != subAgent {
			t.Errorf("sub-account agents: %v", l)
		}
		if r := scoped("GET", "/v1/agents/"+masterAgent, nil); r.status != 404 {
			t.Errorf("master agent seen from the sub-account: %d", r.status)
		}
		if u := scoped("GET", "/v1/usage", nil).obj(t); u["numbers"].(map[string]any)["used"] != 1.0 {
			t.Errorf("sub-account usage: %v", u)
		}
		m := scoped("POST", "/v1/messages", map[string]any{"agent_id": subAgent, "to_number": "+12125550101", "body": "from the sub-account"}).obj(t)
		if m["from_number"] != subPhone {
			t.Errorf("sub-account send: %v", m)
		}
		if u := h.must(200, "GET", "/v1/usage", nil); u["stats"].(map[string]any)["totalMessages"] != 0.0 {
			t.Errorf("master usage counts the sub-account's message: %v", u["stats"])
		}
		// Inbound traffic reaches the account that holds the number.
		if _, err := h.sb.InjectInboundSMS("+12125550101", subPhone, "reply to sub"); err != nil {
			t.Fatal(err)
		}
		if l := scoped("GET", "/v1/conversations", nil).obj(t); l["total"] != 1.0 || l["data"].([]any)[0].(map[string]any)["messageCount"] != 2.0 {
			t.Errorf("sub-account conversation: %v", l)
		}
		if _, err := h.sb.InjectInboundSMS("+12125550101", masterPhone, "to master"); err != nil {
			t.Fatal(err)
		}
		// An unknown sub-account is refused; the sub-account routes act on the master.
		r = h.doCtx(context.Background(), "GET", "/v1/agents", nil, map[string]string{"Authorization": "Bearer " + testKey, SubAccountHeader: "sub_missing"})
		if r.status != 404 || r.obj(t)["error"].(map[string]any)["code"] != "SUB_ACCOUNT_NOT_FOUND" {
			t.Errorf("unknown sub-account: %d %s", r.status, r.raw)
		}
		if l := scoped("GET", "/v1/sub-accounts", nil).obj(t); l["total"] != 1.0 {
			t.Errorf("sub-account list under the header: %v", l)
		}
		h.must(200, "DELETE", "/v1/sub-accounts/"+sub, nil)
		if r := scoped("GET", "/v1/agents", nil); r.status != 404 {
			t.Errorf("deleted sub-account still answers: %d", r.status)
		}
	})
}
