package server

// Issue 11 through the MCP protocol, against the sandbox: today's usage shape, iMessage fields,
// the capability check, call variables and outcomes, custom tools, sub-accounts, the error
// texts, and where sandbox webhook deliveries go.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// fakeDNS answers host lookups from a table: the URL policy's tests never touch the network.
type fakeDNS map[string][]string

func (f fakeDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]net.IPAddr, 0, len(ips))
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

var testDNS = fakeDNS{
	"tools.example.com":    {"93.184.216.34"},
	"metadata.example.com": {"169.254.169.254"},
}

// newTodayHarness is newKeyedHarness with the test hooks this file needs.
func newTodayHarness(t *testing.T, key string, opts Options, mods ...func(*Config)) *harness {
	t.Helper()
	clk, _ := opts.Clock.(*clockwork.FakeClock)
	sb := opts.Sandbox
	if sb == nil {
		clk = clockwork.NewFakeClockAt(testStart)
		sb = sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
		t.Cleanup(sb.Close)
	}
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel, cfg.Toolsets = true, t.TempDir(), "error", []string{"all"}
	for _, m := range mods {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	opts.Clock, opts.Sandbox, opts.Stderr, opts.Version = clk, sb, io.Discard, "test"
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Secrets = Secrets{APIKey: keyguard.NewSecret(key)}
	if opts.Resolver == nil {
		opts.Resolver = testDNS
	}
	app, err := New(ctx, cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = app.Close() })
	return &harness{t: t, ctx: ctx, app: app, sb: sb, clk: clk, cfg: app.cfg}
}

func mustHave(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, text)
		}
	}
}

func TestTodayOverviewAndCapabilities(t *testing.T) {
	h := newTodayHarness(t, "", Options{})
	c := h.connect("stdio")
	h.setupAgentWithNumber(c)
	ov := h.mustOK(h.call(c, "get_account_overview", nil), "overview")
	mustHave(t, "overview", ov.text, "Account: the master account", "Numbers 1 of 10", "SMS segments billed in the last 30 days: 0")
	if strings.Contains(ov.text, "Plan") || ov.data["plan"] != nil {
		t.Errorf("today's usage has no plan: %s", ov.text)
	}
	// An unusable usage answer fails that section only, in words.
	h.sb.SetFault("GET /v1/usage", sandbox.Fault{Body: sandbox.RawBody("null"), Times: 1})
	ov = h.mustOK(h.call(c, "get_account_overview", nil), "overview, null usage")
	mustHave(t, "overview, null usage", ov.text, "Usage: failed to load (AgentPhone answered HTTP 200 but the body is unusable: the body is JSON null)")

	im := h.mustOK(h.call(c, "get_capabilities", map[string]any{"phone_number": "(415) 555-0135"}), "capabilities")
	if im.data["imessage"] != true || im.data["channel"] != "imessage" {
		t.Errorf("iMessage user: %s %v", im.text, im.data)
	}
	sms := h.mustOK(h.call(c, "get_capabilities", map[string]any{"phone_number": "+12125550101"}), "capabilities")
	mustHave(t, "SMS-only", sms.text, "+12125550101 can get SMS only")
	if r := h.call(c, "get_capabilities", map[string]any{"phone_number": "911"}); !r.isError || !strings.Contains(r.text, "emergency") {
		t.Errorf("911: %s", r.text)
	}
}

func TestTodayIMessageFields(t *testing.T) {
	h := newTodayHarness(t, "", Options{}, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("http")
	agentID, _, _ := h.setupAgentWithNumber(c)
	first := h.mustOK(h.call(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+14155550135",
		"body": "Happy birthday!", "send_style": "confetti"}), "iMessage")
	mustHave(t, "iMessage send", first.text, "(imessage, sent", "iMessage effect: confetti.")
	if first.data["send_style_applied"] != true {
		t.Errorf("effect not reported applied: %v", first.data)
	}
	reply := h.mustOK(h.call(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+14155550135",
		"body": "And many more.", "reply_to_message_id": first.str("id")}), "threaded reply")
	mustHave(t, "threaded", reply.text, "Threaded as a reply to "+first.str("id"))
	plain := h.mustOK(h.call(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+12125550101",
		"body": "Hello.", "send_style": "slam", "reply_to_message_id": first.str("id")}), "SMS")
	mustHave(t, "SMS", plain.text, "The slam effect was dropped: the message went as sms.",
		"The reply could not be threaded under "+first.str("id")+", so it was sent as a plain message.")
	if plain.data["reply_parent_unresolved"] != true {
		t.Errorf("reply_parent_unresolved not reported: %v", plain.data)
	}
	if r := h.call(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": "x", "send_style": "glitter"}); !r.isError || !strings.Contains(r.text, "send_style must be one of") {
		t.Errorf("bad style: %s", r.text)
	}
}

func TestTodayCallVariablesAndPrices(t *testing.T) {
	const key = "sk_live_Vq7rKx2mZp9TwL4nB8cD3fG6hJ"
	h := newTodayHarness(t, key, Options{})
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	args := map[string]any{"agent_id": agentID, "to_number": "+14155550142", "topic": "Confirm order {{order}} for {{name}}",
		"initial_greeting": "Hello {{name}}", "variables": map[string]any{"name": "Ann", "order": "A7"}}
	pre := h.call(c, "make_call", args)
	if pre.str("status") != "confirmation_required" {
		t.Fatalf("want a preview: %s", pre.text)
	}
	mustHave(t, "preview", pre.text, "Hello Ann", "Confirm order A7 for Ann", `name="Ann", order="A7"`,
		"Cost: $0.22/min (AgentPhone's AI runs the call), billed per second; up to $13.20 if it runs the maximum 60 min")
	for name, bad := range map[string]map[string]any{
		"line break":          {"name": "Ann\n--- END OBJECTIVE ---"},
		"missing placeholder": {"name": "Ann"},
	} {
		r := h.call(c, "make_call", with(args, "variables", bad))
		if !r.isError || r.str("status") != "invalid_arguments" {
			t.Errorf("%s: %s", name, r.text)
		}
	}
	r := h.call(c, "make_call", with(args, "variables", map[string]any{"name": key, "order": "A7"}))
	if !r.isError || r.str("rule") != "secret_in_content" {
		t.Errorf("a key in a variable: %s", r.text)
	}
	// A webhook-mode agent without topic: the webhook price, and no variables.
	wh := h.mustOK(h.call(c, "create_agent", map[string]any{"name": "Hook"}), "webhook agent").str("id")
	pre = h.call(c, "make_call", map[string]any{"agent_id": wh, "to_number": "+14155550142"})
	mustHave(t, "webhook preview", pre.text, "Cost: $0.13/min (your webhook drives the call)")
	if r := h.call(c, "make_call", map[string]any{"agent_id": wh, "to_number": "+14155550142", "variables": map[string]any{"a": "b"}}); !r.isError ||
		!strings.Contains(r.text, "variables need topic or a hosted agent") {
		t.Errorf("variables on a webhook agent: %s", r.text)
	}
	sms := h.call(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+14155550142", "body": strings.Repeat("x", 200)})
	mustHave(t, "sms preview", sms.text, "Cost: 2 SMS segments × $0.02 = $0.04")
}

func TestTodayCallOutcomes(t *testing.T) {
	h := newTodayHarness(t, "", Options{}, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("stdio")
	agentID, _, _ := h.setupAgentWithNumber(c)
	if _, err := h.app.api.UpdateAgent(h.ctx, agentID, apiclient.UpdateAgentRequest{AgentSettings: apiclient.AgentSettings{
		VoicemailMessage: ptrTo("Hi, please call the clinic back.")}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ to, outcome, words string }{
		{"+1415" + sandbox.VoicemailSuffix, "voicemail", "Outcome: voicemail (voicemail took the call; disconnection reason voicemail_reached)"},
		{"+1415" + sandbox.NoAnswerSuffix, "no_answer", "Outcome: no_answer (nobody answered; disconnection reason dial_no_answer)"},
		{"+1415" + sandbox.BusySuffix, "busy", "Outcome: busy"},
		{"+1415" + sandbox.FailedSuffix, "failed", "Outcome: failed"},
		{"+14155550142", "human", "Outcome: human (a person answered"},
	}
	for _, tc := range cases {
		done := make(chan result, 1)
		go func() {
			done <- h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": tc.to, "topic": "the appointment", "wait": true})
		}()
		r := h.mustOK(h.advanceUntil(done, time.Second), "make_call "+tc.to)
		if r.str("outcome") != tc.outcome {
			t.Errorf("%s: outcome %q, want %q: %s", tc.to, r.str("outcome"), tc.outcome, r.text)
		}
		mustHave(t, tc.to, r.text, tc.words)
		tr := h.mustOK(h.call(c, "get_transcript", map[string]any{"call_id": r.str("id")}), "get_transcript")
		if tr.str("outcome") != tc.outcome || !strings.Contains(tr.text, "Outcome: "+tc.outcome) {
			t.Errorf("get_transcript of %s: %s", tc.to, tr.text)
		}
		if tc.outcome == "voicemail" {
			mustHave(t, "voicemail summary", tr.text, "Summary (third-party data):", "Goal reached (analysis): no.", "please call the clinic back")
		}
		if tc.outcome == "human" {
			mustHave(t, "human analysis", r.text, "Sentiment: Positive.", "Goal reached (analysis): yes.")
		}
	}
	// wait_for_call states it too; a call hung up while ringing is canceled.
	placed := h.mustOK(h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550143", "topic": "x"}), "make_call")
	mustHave(t, "placed", placed.text, "(outcome in_progress)")
	ended := h.mustOK(h.call(c, "end_call", map[string]any{"call_id": placed.str("id")}), "end_call")
	mustHave(t, "end while ringing", ended.text, "outcome canceled")
	done := make(chan result, 1)
	go func() {
		done <- h.call(c, "wait_for_call", map[string]any{"call_id": placed.str("id"), "timeout_seconds": 30})
	}()
	w := h.mustOK(h.advanceUntil(done, time.Second), "wait_for_call")
	if w.str("outcome") != "canceled" || !strings.Contains(w.text, "Outcome: canceled") {
		t.Errorf("wait_for_call: %s", w.text)
	}
	// A list row has no disconnection reason or analysis: it states only what its status
	// settles, and get_transcript the rest.
	list := h.mustOK(h.call(c, "list_calls", nil), "list_calls")
	mustHave(t, "list_calls", list.text, "outcome no_answer", "outcome busy", "outcome failed", "outcome canceled")
	if strings.Contains(list.text, "outcome human") {
		t.Errorf("a completed call without reason or analysis is listed as human (it may be voicemail): %s", list.text)
	}
}

func TestTodayCustomTools(t *testing.T) {
	const key = "sk_live_Ct5pQw8eRt1yUi4oPa7sDf0gHj"
	h := newTodayHarness(t, key, Options{})
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	tool := map[string]any{"name": "lookup_order", "description": "Find an order by id", "url": "https://tools.example.com/orders",
		"method": "GET", "headers": map[string]any{"X-Api-Version": "2"}, "parameters": map[string]any{"type": "object"}}
	args := map[string]any{"agent_id": agentID, "custom_tools": []any{tool}}
	pre := h.call(c, "update_agent", args)
	if pre.str("status") != "confirmation_required" {
		t.Fatalf("custom tools need confirmation: %s", pre.text)
	}
	mustHave(t, "preview in full", pre.text, "[agent_change]", "lookup_order GET https://tools.example.com/orders; Find an order by id",
		"header X-Api-Version: 2", `parameters {"type":"object"}`)
	h.confirm(c, "update_agent", args)
	got := h.mustOK(h.call(c, "get_agent", map[string]any{"agent_id": agentID}), "get_agent")
	if tools, _ := got.data["custom_tools"].([]any); len(tools) != 1 {
		t.Errorf("custom tools not set: %v", got.data["custom_tools"])
	}
	for url, rule := range map[string]string{
		"https://metadata.example.com/latest":  "unsafe_url",
		"https://127.0.0.1/x":                  "unsafe_url",
		"https://2130706433/x":                 "unsafe_url",
		"http://tools.example.com/x":           "unsafe_url",
		"https://tools.example.com/x?k=" + key: "secret_in_content",
	} {
		bad := map[string]any{"name": "t", "description": "d", "url": url}
		r := h.call(c, "update_agent", map[string]any{"agent_id": agentID, "custom_tools": []any{bad}})
		if !r.isError || r.str("rule") != rule {
			t.Errorf("%s: want denied [%s], got %s", url, rule, r.text)
		}
	}
	r := h.call(c, "update_agent", map[string]any{"agent_id": agentID, "custom_tools": []any{map[string]any{"name": "t", "description": "d",
		"url": "https://tools.example.com/x", "headers": map[string]any{"Authorization": "Bearer " + key}}}})
	if !r.isError || r.str("rule") != "secret_in_content" {
		t.Errorf("a key in a header: %s", r.text)
	}
}

func TestTodaySubAccount(t *testing.T) {
	clk := clockwork.NewFakeClockAt(testStart)
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	t.Cleanup(sb.Close)
	// The operator created the sub-account (dashboard or API) and gave its id to the server.
	hc := &http.Client{Transport: sb.Transport()}
	req, _ := http.NewRequest("POST", "http://sandbox.invalid/v1/sub-accounts", strings.NewReader(`{"name":"Client A"}`))
	req.Header.Set("Authorization", "Bearer operator")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sub := strings.Split(strings.Split(string(body), `"id":"`)[1], `"`)[0]

	master := newTodayHarness(t, "", Options{Clock: clk, Sandbox: sb}, func(c *Config) { c.ConfirmMode = "off" })
	mc := master.connect("inprocess")
	master.setupAgentWithNumber(mc)
	scoped := newTodayHarness(t, "", Options{Clock: clk, Sandbox: sb}, func(c *Config) { c.ConfirmMode = "off"; c.SubAccountID = sub })
	sc := scoped.connect("stdio")
	ov := scoped.mustOK(scoped.call(sc, "get_account_overview", nil), "overview")
	mustHave(t, "sub-account overview", ov.text, "Account: sub-account "+sub, "Agents (0)", "Numbers 0 of 10")
	scoped.setupAgentWithNumber(sc)
	if l := scoped.mustOK(scoped.call(sc, "list_agents", nil), "list_agents"); !strings.Contains(l.text, "1 agents") {
		t.Errorf("the sub-account lists %s", l.text)
	}
	if ov := master.mustOK(master.call(mc, "get_account_overview", nil), "master"); !strings.Contains(ov.text, "Account: the master account") ||
		!strings.Contains(ov.text, "Agents (1)") {
		t.Errorf("the master sees the sub-account's agent: %s", ov.text)
	}
	// An unknown sub-account fails every section, in words, and the overview says so.
	wrong := newTodayHarness(t, "", Options{Clock: clk, Sandbox: sb}, func(c *Config) { c.SubAccountID = "sub_missing" })
	r := wrong.call(wrong.connect("inprocess"), "get_account_overview", nil)
	if !r.isError || !strings.Contains(r.text, "SUB_ACCOUNT_NOT_FOUND") || !strings.Contains(r.text, "Account: sub-account sub_missing") {
		t.Errorf("unknown sub-account: %s", r.text)
	}
	bad := scoped.cfg
	bad.SubAccountID = "sub 1"
	if _, err := New(scoped.ctx, bad, Options{Clock: clk, Sandbox: sb, Stderr: io.Discard, Logger: slog.New(slog.DiscardHandler)}); err == nil ||
		!strings.Contains(err.Error(), "AGENTPHONE_SUB_ACCOUNT_ID") {
		t.Errorf("a malformed sub-account id: %v", err)
	}
}

func TestTodayErrorTexts(t *testing.T) {
	h := newTodayHarness(t, "", Options{}, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("inprocess")
	agentID, numberID, _ := h.setupAgentWithNumber(c)
	cases := []struct {
		route string
		fault sandbox.Fault
		tool  string
		args  map[string]any
		words []string
	}{
		{"GET /v1/numbers/{number_id}/messages", sandbox.Fault{Body: sandbox.RawBody(""), Times: 1}, "list_messages", map[string]any{"number_id": numberID},
			[]string{"AgentPhone answered HTTP 200 but the body is unusable: the body is empty", "try again"}},
		{"GET /v1/numbers/{number_id}/messages", sandbox.Fault{Body: sandbox.RawBody("null"), Times: 1}, "list_messages", map[string]any{"number_id": numberID},
			[]string{"the body is JSON null"}},
		{"GET /v1/numbers/{number_id}/messages", sandbox.Fault{Body: sandbox.RawBody("{}"), Times: 1}, "list_messages", map[string]any{"number_id": numberID},
			[]string{`the list has no "data" array`}},
		{"GET /v1/calls", sandbox.Fault{Reset: true}, "list_calls", nil,
			[]string{"the connection to AgentPhone was reset before the answer was complete", "A network or proxy problem"}},
		{"GET /v1/calls", sandbox.Fault{Oversize: true, Times: 1}, "list_calls", nil,
			[]string{"AgentPhone's answer is larger than 8 MB, so it was not read", "Ask for less"}},
		{"POST /v1/messages", sandbox.Fault{Status: 429, Code: "OUTBOUND_LIMIT_REACHED", RetryAfter: 2 * time.Second, Times: 1}, "send_sms",
			map[string]any{"agent_id": agentID, "to_number": "+14155550142", "body": "hi"},
			[]string{"AgentPhone answered HTTP 429 Too Many Requests [OUTBOUND_LIMIT_REACHED]", "The account's outbound limit is reached; do not retry now"}},
	}
	for _, tc := range cases {
		h.sb.ClearFaults()
		h.sb.SetFault(tc.route, tc.fault)
		r := h.call(c, tc.tool, tc.args)
		if !r.isError {
			t.Errorf("%s with %+v succeeded: %s", tc.tool, tc.fault, r.text)
			continue
		}
		mustHave(t, tc.tool, r.text, tc.words...)
		for _, bad := range []string{"HTTP 0", `: ""`, "No messages found", "wait 2 s"} {
			if strings.Contains(r.text, bad) {
				t.Errorf("%s: %q in %s", tc.tool, bad, r.text)
			}
		}
	}
	h.sb.ClearFaults()

	// No answer: the sandbox holds the request on its (never advanced) clock; the server's
	// request deadline, shortened here, gives up and says how long it waited.
	slow := newTodayHarness(t, "", Options{APITimeout: 200 * time.Millisecond})
	slow.sb.SetFault("GET /v1/calls", sandbox.Fault{Latency: time.Hour})
	r := slow.call(slow.connect("inprocess"), "list_calls", nil)
	if !r.isError {
		t.Fatalf("a hanging API answered: %s", r.text)
	}
	mustHave(t, "timeout", r.text, "list_calls failed: no answer from AgentPhone within 200 ms. AgentPhone may be slow or unreachable: try again in a minute.")
}

func TestTodaySandboxWebhookDelivery(t *testing.T) {
	var got atomic.Int32
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	t.Cleanup(local.Close)
	h := newTodayHarness(t, "", Options{}, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("inprocess")
	h.setupAgentWithNumber(c)
	h.mustOK(h.call(c, "set_webhook", map[string]any{"url": "https://hooks.example.com/agentphone"}), "set_webhook")
	r := h.mustOK(h.call(c, "test_webhook", nil), "test_webhook external")
	mustHave(t, "external", r.text, "Sandbox: nothing left this machine; the event was not sent to https://hooks.example.com/agentphone",
		"is not a loopback address", SandboxNotice)
	// A loopback receiver really gets it (set through the API: the tool wants https).
	if _, err := h.app.api.SetWebhook(h.ctx, apiclient.SetWebhookRequest{URL: local.URL + "/hook"}); err != nil {
		t.Fatal(err)
	}
	r = h.mustOK(h.call(c, "test_webhook", nil), "test_webhook loopback")
	mustHave(t, "loopback", r.text, "Sandbox: the test event was really POSTed to "+local.URL+"/hook (connected to "+strings.TrimPrefix(local.URL, "http://")+")")
	if got.Load() != 1 {
		t.Errorf("the loopback receiver got %d events", got.Load())
	}

	// Opting in is said in every result.
	ext := newTodayHarness(t, "", Options{}, func(c *Config) { c.SandboxDeliverExternal = true })
	r = ext.mustOK(ext.call(ext.connect("inprocess"), "list_agents", nil), "list_agents")
	mustHave(t, "external notice", r.text, SandboxNoticeExternal)
	cfg, _ := ConfigFromEnv([]string{"AGENTPHONE_SANDBOX_DELIVER_EXTERNAL=true"})
	cfg.StateDir = t.TempDir()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "only in sandbox mode") {
		t.Errorf("external delivery outside sandbox mode: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }
