package sandbox

import (
	"net/http"
	"testing"
)

// TestAccountsByKey: with Options.Accounts each key is its own account (agents, numbers,
// messages, usage), an unknown key gets 401 INVALID_API_KEY, and no account sees another's
// objects, not even by id.
func TestAccountsByKey(t *testing.T) {
	const keyA, keyB = "sk_test_account_alpha_0001", "sk_test_account_bravo_0002"
	eachMode(t, Options{Accounts: map[string]string{keyA: "alpha", keyB: "bravo"}}, func(t *testing.T, h *harness) {
		as := func(key, method, path string, body any) resp {
			t.Helper()
			return h.doCtx(t.Context(), method, path, body, map[string]string{"Authorization": "Bearer " + key})
		}
		if r := as("sk_test_unknown_key_00003", "GET", "/v1/usage", nil); r.status != http.StatusUnauthorized || r.obj(t)["code"] != nil && r.obj(t)["code"] != "INVALID_API_KEY" {
			t.Fatalf("unknown key: status %d body %s, want 401 INVALID_API_KEY", r.status, r.raw)
		}
		if r := h.do("GET", "/v1/usage", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("the single-account test key is not an account here: status %d, want 401", r.status)
		}
		agentA := as(keyA, "POST", "/v1/agents", map[string]any{"name": "A"})
		if agentA.status != 200 {
			t.Fatalf("create agent A: %d %s", agentA.status, agentA.raw)
		}
		aid := agentA.obj(t)["id"].(string)
		numA := as(keyA, "POST", "/v1/numbers", map[string]any{"agentId": aid})
		if numA.status != 200 {
			t.Fatalf("buy number A: %d %s", numA.status, numA.raw)
		}
		nid := numA.obj(t)["id"].(string)
		if r := as(keyA, "POST", "/v1/messages", map[string]any{"agent_id": aid, "to_number": "+14155550100", "body": "hello from A"}); r.status != 200 {
			t.Fatalf("send from A: %d %s", r.status, r.raw)
		}
		// B sees none of it.
		for _, p := range []string{"/v1/agents", "/v1/numbers"} {
			if r := as(keyB, "GET", p, nil); r.status != 200 || r.obj(t)["total"] != float64(0) {
				t.Fatalf("B lists %s: %d %s, want none", p, r.status, r.raw)
			}
			if r := as(keyA, "GET", p, nil); r.status != 200 || r.obj(t)["total"] != float64(1) {
				t.Fatalf("A lists %s: %d %s, want its one", p, r.status, r.raw)
			}
		}
		for _, p := range []string{"/v1/agents/" + aid, "/v1/numbers/" + nid + "/messages"} {
			if r := as(keyB, "GET", p, nil); r.status != http.StatusNotFound {
				t.Fatalf("B reads A's %s: status %d %s, want 404", p, r.status, r.raw)
			}
		}
		usageB := as(keyB, "GET", "/v1/usage", nil).obj(t)
		if used := usageB["numbers"].(map[string]any)["used"]; used != float64(0) {
			t.Fatalf("B's usage counts A's number: %v", used)
		}
		usageA := as(keyA, "GET", "/v1/usage", nil).obj(t)
		if used := usageA["numbers"].(map[string]any)["used"]; used != float64(1) {
			t.Fatalf("A's usage: numbers used %v, want 1", used)
		}
		if h.sb.Account(keyA) == nil || h.sb.Account("nope") != nil {
			t.Fatal("Account(key) does not find the accounts by key")
		}
	})
}
