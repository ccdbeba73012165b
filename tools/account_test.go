package tools

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
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
	mustContain(t, text, "Webhook: failed to load (AgentPhone answered HTTP 500", a.ID, n.PhoneNumber)
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
		{map[string]any{}, []string{"Account: the master account", "Numbers 1 of 10", "Messages:", "SMS segments billed in the last 30 days: 0", "Calls:", "Webhook deliveries:"}, ""},
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
	mustContain(t, text, "HTTP 500", "try again")
	if data["status"] != "api_error" {
		t.Errorf("status = %v", data["status"])
	}
	// The overview reports a failed usage read as a failed section, not as a failed call.
	env.sb.SetFault("GET /v1/usage", sandbox.Fault{Status: 500})
	text, data = env.ok("get_account_overview", nil)
	mustContain(t, text, "Usage: failed to load (AgentPhone answered HTTP 500")
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
	mustContain(t, text, "A2P 10DLC registration: failed to load (AgentPhone answered HTTP 401")
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

// TestOverviewConcurrentAndBounded: the overview's requests are in flight together, and a
// hanging section fails after overviewTimeout on the clock instead of holding the result.
func TestOverviewConcurrentAndBounded(t *testing.T) {
	env := newToolEnv(t)
	a, _ := env.seed("Bounded")
	env.sb.SetFault("GET /v1/usage", sandbox.Fault{Latency: time.Hour}) // hangs
	env.sb.SetFault("GET /v1/agents", sandbox.Fault{Latency: 5 * time.Second, Times: 1})
	start := env.clock.Now()
	done := make(chan *mcp.CallToolResult, 1)
	go func() { done <- env.call("get_account_overview", nil) }()
	// Both slow requests, the overview's bound and the tool call's bound wait on the clock at
	// once: the requests run concurrently, not one after the other.
	if err := env.clock.BlockUntilContext(env.ctx, 4); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(5 * time.Second)
	select {
	case <-done:
		t.Fatal("the overview returned while usage was still pending and before its bound")
	case <-time.After(20 * time.Millisecond):
	}
	env.clock.Advance(overviewTimeout - 5*time.Second)
	res := <-done
	if res.IsError {
		t.Fatalf("a partial overview is not an error: %s", textOf(res))
	}
	text := textOf(res)
	mustContain(t, text, "Usage: failed to load (no answer from AgentPhone within 20 s)", a.ID, "Agents (1)")
	if waited := env.clock.Since(start); waited != overviewTimeout {
		t.Errorf("the overview waited %v on the clock, want %v", waited, overviewTimeout)
	}
}

// TestOverviewAllFailed: when no section can be read the overview is an error result.
func TestOverviewAllFailed(t *testing.T) {
	env := newToolEnv(t)
	env.sb.SetFault("*", sandbox.Fault{Status: 503})
	done := make(chan [2]any, 1)
	go func() {
		text, data := env.fails("get_account_overview", nil)
		done <- [2]any{text, data}
	}()
	for {
		select {
		case r := <-done:
			text, data := r[0].(string), r[1].(map[string]any)
			mustContain(t, text, "Usage: failed to load (AgentPhone answered HTTP 503", "Agents: failed to load",
				"Nothing could be read from AgentPhone")
			mustNotContain(t, text, "HTTP 0")
			if errs, _ := data["errors"].(map[string]any); len(errs) != 5 {
				t.Errorf("errors = %v, want all five sections", data["errors"])
			}
			return
		default:
			env.clock.Advance(500 * time.Millisecond) // the client's retry waits on 503
			time.Sleep(time.Millisecond)
		}
	}
}

// TestOverviewLegacyPlanAndSubAccount: a plan block from an older deployment is still shown,
// and the overview names the sub-account the server is scoped to.
func TestOverviewLegacyPlanAndSubAccount(t *testing.T) {
	env := newToolEnv(t)
	legacy := `{"plan":{"name":"payg","limits":{"numbers":10}},"numbers":{"used":0,"limit":10,"remaining":10},"stats":{"totalMessages":0}}`
	env.sb.SetFault("GET /v1/usage", sandbox.Fault{Body: sandbox.RawBody(legacy), Times: 1})
	text, data := env.ok("get_account_overview", nil)
	mustContain(t, text, "Plan payg (reported by an older AgentPhone deployment)")
	if data["plan"] != "payg" || data["sms_segments_last_30d"] != nil {
		t.Errorf("legacy usage view = %v", data)
	}
	// A sub-account of the sandbox: the overview shows its (empty) account and says which it is.
	ep, _ := keyguard.ParseBaseURL("")
	hc := &http.Client{Transport: keyguardTransport(env)}
	resp, err := hc.Post(ep.BaseURL+"/v1/sub-accounts", "application/json", strings.NewReader(`{"name":"Client A"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || created.ID == "" {
		t.Fatalf("create sub-account: %v", err)
	}
	resp.Body.Close()
	env.seed("Master agent")
	sub, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, SubAccountID: created.ID, HTTPClient: hc, Clock: env.clock})
	if err != nil {
		t.Fatal(err)
	}
	env.deps.API = sub
	text, data = env.ok("get_account_overview", nil)
	mustContain(t, text, "Account: sub-account "+created.ID, "Agents (0)")
	if acct, _ := data["account"].(map[string]any); acct["sub_account_id"] != created.ID || acct["scope"] != "sub_account" {
		t.Errorf("account = %v", data["account"])
	}
}

// keyguardTransport is the sandbox transport with the test key attached, as the key guard does.
func keyguardTransport(env *toolEnv) http.RoundTripper {
	ep, _ := keyguard.ParseBaseURL("")
	return keyguard.NewTransport(ep, keyguard.NewSecret("k"), env.sb.Transport())
}
