package tools

import (
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func TestListAndGetNumber(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Numbers")
	text, data := env.ok("list_numbers", nil)
	mustContain(t, text, "1 numbers:", n.ID, n.PhoneNumber, "agent "+a.ID)
	if len(items(t, data)) != 1 {
		t.Errorf("items: %v", data)
	}
	text, data = env.ok("get_number", map[string]any{"number_id": n.ID})
	mustContain(t, text, n.PhoneNumber)
	if data["id"] != n.ID || data["agent_id"] != a.ID {
		t.Errorf("view = %v", data)
	}
	text, _ = env.fails("get_number", map[string]any{"number_id": "num_nope"})
	mustContain(t, text, "HTTP 404", "list_numbers")
	env.sb.SetFault("GET /v1/numbers", sandbox.Fault{Status: 500})
	text, _ = env.fails("list_numbers", nil)
	mustContain(t, text, "HTTP 500")
}

func TestReleaseNumberConfirmation(t *testing.T) {
	env := newToolEnv(t)
	_, n := env.seed("Release")
	args := map[string]any{"number_id": n.ID}
	text, first := env.ok("release_number", args)
	mustContain(t, text, "Confirmation required", n.PhoneNumber, "irreversible")
	if first["status"] != "confirmation_required" {
		t.Fatalf("status = %v", first["status"])
	}
	if got, _ := env.deps.API.GetNumber(env.ctx, n.ID); got.Status != apiclient.NumberActive {
		t.Fatalf("released before confirmation: %s", got.Status)
	}
	text, data := env.ok("release_number", map[string]any{"number_id": n.ID, "confirmation_token": first["confirmation_token"]})
	mustContain(t, text, "Released", n.PhoneNumber)
	if data["status"] != "released" {
		t.Errorf("status = %v", data["status"])
	}
	// The token is single-use, and a released number is reported, not released again.
	text, _ = env.ok("release_number", map[string]any{"number_id": n.ID, "confirmation_token": first["confirmation_token"]})
	mustContain(t, text, "already released")
	text, _ = env.fails("release_number", map[string]any{"number_id": "num_nope"})
	mustContain(t, text, "HTTP 404", "list_numbers")
}
