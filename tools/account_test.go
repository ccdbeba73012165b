package tools

import (
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

func TestGetAccountOverview(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Front desk")
	wh, err := env.deps.API.SetWebhook(env.ctx, apiclient.SetWebhookRequest{URL: "https://hooks.example.com/ap"})
	if err != nil {
		t.Fatal(err)
	}
	text, data := env.ok("get_account_overview", nil)
	mustContain(t, text, a.ID, n.PhoneNumber, "https://hooks.example.com/ap", "in the last 30 days")
	mustNotContain(t, text, wh.Secret)
	mustNotContain(t, mustJSON(t, data), wh.Secret)
	if _, failed := data["errors"]; failed {
		t.Errorf("unexpected partial failure: %v", data["errors"])
	}

	// One failing section leaves the others.
	env.sb.SetFault("GET /v1/webhooks", sandbox.Fault{Status: 500})
	text, data = env.ok("get_account_overview", nil)
	mustContain(t, text, "Webhook: failed to load (HTTP 500", a.ID, n.PhoneNumber)
	errs, _ := data["errors"].(map[string]any)
	if _, ok := errs["webhook"]; !ok || len(errs) != 1 {
		t.Errorf("errors = %v, want only webhook", data["errors"])
	}
}

func TestUsageBreakdowns(t *testing.T) {
	env := newToolEnv(t)
	env.seed("Usage agent")
	tests := []struct {
		args    map[string]any
		want    []string
		itemKey string
	}{
		{map[string]any{}, []string{"Plan", "Messages:", "Calls:", "Webhook deliveries:"}, ""},
		{map[string]any{"usage": "daily", "days": 7}, []string{"Daily usage, last 7 days"}, "webhooks"},
		{map[string]any{"usage": "monthly", "months": 2}, []string{"Monthly usage, last 2 months"}, "webhooks"},
		{map[string]any{"usage": "by_number"}, []string{"1 numbers:", "num_"}, "phone_number"},
		{map[string]any{"usage": "by_agent", "period": "week", "tz": "America/Chicago"}, []string{"Usage agent"}, "agent_name"},
	}
	for _, tt := range tests {
		text, data := env.ok("get_account_overview", tt.args)
		mustContain(t, text, tt.want...)
		if tt.itemKey != "" {
			its := items(t, data)
			if len(its) == 0 {
				t.Errorf("%v: no items", tt.args)
				continue
			}
			if _, ok := its[0][tt.itemKey]; !ok {
				t.Errorf("%v: item %v lacks %q", tt.args, its[0], tt.itemKey)
			}
		}
	}
	bad := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"usage": "hourly"}, "usage must be one of"},
		{map[string]any{"usage": "daily", "days": 400}, "days must be between 1 and 365"},
		{map[string]any{"usage": "monthly", "months": 25}, "months must be between 1 and 24"},
		{map[string]any{"usage": "by_agent", "period": "decade"}, "period must be one of"},
		{map[string]any{"usage": "by_agent", "tz": "Mars/Olympus"}, "not an IANA time zone"},
		{map[string]any{"days": "ten"}, `"days" must be a whole number`},
		{map[string]any{"days": 7}, "go with usage"},
	}
	for _, tt := range bad {
		text, _ := env.fails("get_account_overview", tt.args)
		mustContain(t, text, tt.want)
	}
	env.sb.SetFault("GET /v1/usage/daily", sandbox.Fault{Status: 500})
	text, data := env.fails("get_account_overview", map[string]any{"usage": "daily"})
	mustContain(t, text, "HTTP 500", "Try again")
	if data["status"] != "api_error" {
		t.Errorf("status = %v", data["status"])
	}
	// The overview reports a failed usage read as a failed section, not as a failed call.
	env.sb.SetFault("GET /v1/usage", sandbox.Fault{Status: 500})
	text, data = env.ok("get_account_overview", nil)
	mustContain(t, text, "Plan and usage: failed to load (HTTP 500")
	if errs, _ := data["errors"].(map[string]any); errs["usage"] == nil {
		t.Errorf("errors = %v", data["errors"])
	}
}

func TestOverviewRegistrationStatus(t *testing.T) {
	env := newToolEnv(t)
	text, data := env.ok("get_account_overview", nil)
	mustContain(t, text, "A2P 10DLC (US SMS) campaign:")
	reg, _ := data["registration"].(map[string]any)
	if reg["campaign_status"] == nil {
		t.Errorf("no campaign_status in %v", data)
	}
	env.sb.SetFault("GET /v1/register/status", sandbox.Fault{Status: 401})
	text, data = env.ok("get_account_overview", nil)
	mustContain(t, text, "A2P 10DLC registration: failed to load (HTTP 401")
	if errs, _ := data["errors"].(map[string]any); errs["registration"] == nil {
		t.Errorf("the failed section is not reported: %v", data)
	}
	mustNotContain(t, text, "Bearer k")
}

func TestSnapshots(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Snap")
	for name, read := range map[string]func() (any, error){
		"account": func() (any, error) { return env.deps.AccountOverview(env.ctx) },
		"agents":  func() (any, error) { return env.deps.AgentsSnapshot(env.ctx) },
		"numbers": func() (any, error) { return env.deps.NumbersSnapshot(env.ctx) },
		"inbox":   func() (any, error) { return env.deps.InboxSnapshot(env.ctx) },
	} {
		v, err := read()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		s := mustJSON(t, v)
		if name != "inbox" && !strings.Contains(s, a.ID) && !strings.Contains(s, n.ID) {
			t.Errorf("%s snapshot names neither the agent nor the number: %s", name, s)
		}
	}
	if _, err := env.deps.CallSnapshot(env.ctx, "call_missing"); err == nil || !apiclient.IsNotFound(err) {
		t.Errorf("CallSnapshot of an unknown call: %v, want a 404", err)
	}
	if _, err := env.deps.ConversationSnapshot(env.ctx, "conv_missing"); err == nil || !apiclient.IsNotFound(err) {
		t.Errorf("ConversationSnapshot of an unknown conversation: %v, want a 404", err)
	}
	env.sb.SetFault("*", sandbox.Fault{Status: 500})
	if _, err := env.deps.AccountOverview(env.ctx); err == nil {
		t.Error("AccountOverview succeeded with every request failing")
	}
}
