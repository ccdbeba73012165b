package server

// Issue 5 through the MCP protocol: the confirmation modes (auto with and without elicitation,
// strict with elicitation, with an operator phone and with neither, off), read-only mode in
// every transport, and the audit log those decisions leave.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
)

// elicitor is a client-side elicitation handler that answers with answer(code), where code is
// the 3-digit code parsed from the server's message, and keeps the messages it was shown.
type elicitor struct {
	answer func(code string) *mcp.ElicitationResult
	mu     sync.Mutex
	msgs   []string
}

var elicitCode = regexp.MustCompile(`type (\d{3})\.`)

func (e *elicitor) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	e.mu.Lock()
	e.msgs = append(e.msgs, req.Params.Message)
	e.mu.Unlock()
	code := ""
	if m := elicitCode.FindStringSubmatch(req.Params.Message); m != nil {
		code = m[1]
	}
	return e.answer(code), nil
}

func (e *elicitor) shown() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.msgs)
}

func accept(content map[string]any) *mcp.ElicitationResult {
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: content}}
}

// wrongCode is a 3-digit code that differs from code.
func wrongCode(code string) string {
	if code == "000" {
		return "001"
	}
	return "000"
}

// TestElicitationConfirmOverProtocol is auto and strict mode with a client that declared
// elicitation: the right code typed executes, a wrong code is refused, a decline or an
// unticked box does nothing, and the user is shown the preview with its rules.
func TestElicitationConfirmOverProtocol(t *testing.T) {
	answers := []struct {
		name     string
		answer   func(code string) *mcp.ElicitationResult
		executes bool
		status   string // structured status when it does not execute
	}{
		{"accept with the code", func(code string) *mcp.ElicitationResult {
			return accept(map[string]any{"approve": true, "code": code})
		}, true, ""},
		{"accept with a wrong code", func(code string) *mcp.ElicitationResult {
			return accept(map[string]any{"approve": true, "code": wrongCode(code)})
		}, false, "confirmation_refused"},
		{"accept without ticking approve", func(code string) *mcp.ElicitationResult {
			return accept(map[string]any{"approve": false, "code": code})
		}, false, "not_approved"},
		{"decline", func(string) *mcp.ElicitationResult {
			return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}
		}, false, "not_approved"},
		{"cancel", func(string) *mcp.ElicitationResult {
			return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionCancel}}
		}, false, "not_approved"},
	}
	for _, mode := range []string{"auto", "strict"} {
		for _, tr := range protocolTransports {
			t.Run(mode+"/"+tr, func(t *testing.T) {
				for i, a := range answers {
					// One harness per answer: mcp-go's stdio session is a singleton, so one
					// App serves one stdio client at a time.
					h := newHarness(t, func(c *Config) { c.ConfirmMode = mode })
					agent, err := h.app.api.CreateAgent(h.ctx, apiclient.CreateAgentRequest{Name: "Desk"})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := h.app.api.BuyNumber(h.ctx, apiclient.BuyNumberRequest{AreaCode: "415", AgentID: agent.ID}); err != nil {
						t.Fatal(err)
					}
					el := &elicitor{answer: a.answer}
					c := h.connect(tr, client.WithElicitationHandler(el))
					for _, op := range []struct {
						tool   string
						args   map[string]any
						rule   string
						effect func() int
					}{
						{"buy_number", map[string]any{"agent_id": agent.ID, "area_code": "212"}, "spend", h.countNumbers},
						// A fresh recipient per answer, so each is a first contact.
						{"send_sms", sms(agent.ID, "+1415555016"+string(rune('0'+i)), "Your table is ready."), "first_contact", h.sentMessages},
					} {
						before := op.effect()
						r := h.call(c, op.tool, op.args)
						msgs := el.shown()
						if len(msgs) == 0 || !strings.Contains(msgs[len(msgs)-1], op.rule) || elicitCode.FindString(msgs[len(msgs)-1]) == "" {
							t.Fatalf("%s/%s: the user was not shown a preview naming [%s] with a code: %q", a.name, op.tool, op.rule, msgs)
						}
						after := op.effect()
						if a.executes {
							h.mustOK(r, a.name+"/"+op.tool)
							if after != before+1 {
								t.Fatalf("%s/%s: approved by elicitation but not done (%d -> %d): %s", a.name, op.tool, before, after, r.text)
							}
							continue
						}
						if r.str("status") != a.status || after != before {
							t.Fatalf("%s/%s: want status %q and nothing done, got %d -> %d, %s", a.name, op.tool, a.status, before, after, r.text)
						}
						if a.status == "confirmation_refused" && !r.isError {
							t.Fatalf("%s/%s: a wrong code must be an isError result: %s", a.name, op.tool, r.text)
						}
					}
				}
			})
		}
	}
}

// TestStrictWithoutElicitationOrOperatorPhone: confirm-tier actions are denied with the reason;
// allow-tier and deny-tier behave as ever.
func TestStrictWithoutElicitationOrOperatorPhone(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ConfirmMode = "strict" })
			c := h.connect(tr)
			a := h.mustOK(h.call(c, "create_agent", map[string]any{"name": "Desk"}), "create_agent (allow tier)")
			r := h.call(c, "buy_number", map[string]any{"agent_id": a.str("id"), "area_code": "415"})
			if !r.isError || r.str("status") != "denied" || r.str("rule") != "confirmation_unavailable" ||
				!contains(r.data["rules"], "spend") || !strings.Contains(r.text, "AGENTPHONE_OPERATOR_PHONE") {
				t.Fatalf("strict buy_number without a way to confirm: want denied [confirmation_unavailable] naming spend and the fix, got %v %s", r.data, r.text)
			}
			if n := h.countNumbers(); n != 0 {
				t.Fatalf("strict mode bought %d numbers without confirmation", n)
			}
			// A token does not help either: strict wants TOKEN:CODE.
			r = h.call(c, "buy_number", map[string]any{"agent_id": a.str("id"), "area_code": "415", "confirmation_token": "abc"})
			if !r.isError || h.countNumbers() != 0 {
				t.Fatalf("strict mode with a bare token: want a refusal and nothing bought, got %s", r.text)
			}
			mustDeny(t, h.call(c, "send_sms", sms(a.str("id"), "911", "help")), "emergency", "strict 911")
		})
	}
}

var otpCode = regexp.MustCompile(`Code (\d{6})`)

// operatorCodes returns the codes texted to the operator's phone from number numberID, oldest first.
func (h *harness) operatorCodes(numberID, operator string) []string {
	h.t.Helper()
	page, err := h.rawAPI().ListNumberMessages(h.ctx, numberID, apiclient.CursorParams{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	var codes []string
	for i := len(page.Data) - 1; i >= 0; i-- {
		m := page.Data[i]
		if m.To == operator && m.Direction == apiclient.DirectionOutbound {
			if sm := otpCode.FindStringSubmatch(m.Body); sm != nil {
				codes = append(codes, sm[1])
			}
		}
	}
	return codes
}

// TestStrictOperatorOTPOverProtocol is strict mode with AGENTPHONE_OPERATOR_PHONE and a client
// without elicitation: the code is texted to the operator from the account's number (read back
// from the sandbox), and TOKEN:CODE executes; a bare token or a wrong code does not.
func TestStrictOperatorOTPOverProtocol(t *testing.T) {
	const operator = "+14155550123"
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ConfirmMode, c.OperatorPhone = "strict", "(415) 555-0123" })
			c := h.connect(tr)
			a := h.mustOK(h.call(c, "create_agent", map[string]any{"name": "Desk"}), "create_agent")
			// The first number cannot be bought by OTP: there is nothing to text the code from yet.
			num, err := h.app.api.BuyNumber(h.ctx, apiclient.BuyNumberRequest{AreaCode: "415", AgentID: a.str("id")})
			if err != nil {
				t.Fatal(err)
			}
			args := sms(a.str("id"), "+14155550142", "Your table is ready.")
			first := h.call(c, "send_sms", args)
			tok := mustConfirm(t, first, "strict first contact", "first_contact")
			if !strings.Contains(first.text, "TOKEN:CODE") {
				t.Fatalf("the preview does not say how to confirm: %s", first.text)
			}
			codes := h.operatorCodes(num.ID, operator)
			if len(codes) != 1 {
				t.Fatalf("want one code texted to the operator %s, got %v", operator, codes)
			}
			if strings.Contains(first.text, codes[0]) {
				t.Fatalf("the code is in the tool result, so the model could approve by itself: %s", first.text)
			}
			sentBefore := h.sentMessages() // the operator's code is one
			for _, bad := range []struct{ name, tok string }{
				{"bare token", tok},
				{"wrong code", tok + ":" + wrongCode6(codes[0])},
				{"code for another token", flipLast(tok) + ":" + codes[0]},
			} {
				r := h.call(c, "send_sms", with(args, "confirmation_token", bad.tok))
				if !r.isError || r.str("status") != "confirmation_refused" {
					t.Fatalf("%s: want confirmation_refused, got %s", bad.name, r.text)
				}
				if got := h.sentMessages(); got != sentBefore {
					t.Fatalf("%s: the text was sent anyway (%d -> %d)", bad.name, sentBefore, got)
				}
			}
			h.mustOK(h.call(c, "send_sms", with(args, "confirmation_token", tok+":"+codes[0])), "TOKEN:CODE")
			if got := h.sentMessages(); got != sentBefore+1 {
				t.Fatalf("TOKEN:CODE did not send: %d -> %d", sentBefore, got)
			}
			// Buying a number works the same way now that there is a number to text from.
			buy := map[string]any{"agent_id": a.str("id"), "area_code": "212"}
			tok = mustConfirm(t, h.call(c, "buy_number", buy), "strict buy", "spend")
			codes = h.operatorCodes(num.ID, operator)
			h.mustOK(h.call(c, "buy_number", with(buy, "confirmation_token", tok+":"+codes[len(codes)-1])), "buy by OTP")
			if n := h.countNumbers(); n != 2 {
				t.Fatalf("want 2 numbers after the OTP-confirmed buy, got %d", n)
			}
		})
	}
}

func wrongCode6(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// TestOffModeOverProtocol: confirm-tier actions run at once; deny rules still deny.
func TestOffModeOverProtocol(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ConfirmMode = "off" })
			c := h.connect(tr)
			a := h.mustOK(h.call(c, "create_agent", map[string]any{"name": "Desk"}), "create_agent")
			r := h.mustOK(h.call(c, "buy_number", map[string]any{"agent_id": a.str("id"), "area_code": "415"}), "buy_number")
			if r.str("status") == "confirmation_required" || h.countNumbers() != 1 {
				t.Fatalf("off mode: buy_number should run at once, got %s", r.text)
			}
			h.mustOK(h.call(c, "send_sms", sms(a.str("id"), "+14155550142", "First contact, no questions.")), "first contact")
			h.mustOK(h.call(c, "send_sms", sms(a.str("id"), "+14155550142", "First contact, no questions.")), "duplicate")
			h.mustOK(h.call(c, "send_sms", sms(a.str("id"), "+14155550142", longBody(40))), "sms_long")
			if got := h.sentMessages(); got != 3 {
				t.Fatalf("off mode: want 3 messages, got %d", got)
			}
			for _, d := range []struct{ to, body, rule string }{
				{"911", "help", "emergency"},
				{"+1 900 200 1234", "hi", "number_type"},
				{"+44 7400 123456", "hi", "country"},
				{"+14155550142", "token sk_live_4eC39HqLyjWDarjtT1zdp7dc", "secret_in_content"},
				{"+14155550142", longBody(130), "sms_too_long"},
			} {
				mustDeny(t, h.call(c, "send_sms", sms(a.str("id"), d.to, d.body)), d.rule, "off mode "+d.rule)
			}
			if got := h.sentMessages(); got != 3 {
				t.Fatalf("off mode: denied texts were sent: %d messages", got)
			}
			h.mustOK(h.call(c, "delete_agent", map[string]any{"agent_id": a.str("id")}), "delete_agent")
			if h.agentState(a.str("id")) != "gone" {
				t.Fatal("off mode: delete_agent did not delete")
			}
		})
	}
}

// TestReadOnlyOverProtocol: in every transport, tools/list has no write tool, and calling one
// (with confirmation off, so it would run at once if reachable) fails and changes nothing.
func TestReadOnlyOverProtocol(t *testing.T) {
	var writes []string
	for _, tool := range newHarness(t).app.Tools() {
		if !tool.ReadOnly {
			writes = append(writes, tool.Def.Name)
		}
	}
	for _, must := range []string{"send_sms", "make_call", "buy_number", "release_number", "delete_agent", "set_webhook"} {
		if !slices.Contains(writes, must) {
			t.Fatalf("%s is not marked as a write tool: %v", must, writes)
		}
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.ReadOnly, c.ConfirmMode = true, "off" })
			c := h.connect(tr)
			list, err := c.ListTools(h.ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tl := range list.Tools {
				names = append(names, tl.Name)
				if slices.Contains(writes, tl.Name) {
					t.Errorf("read-only tools/list over %s offers the write tool %s", tr, tl.Name)
				}
			}
			if !slices.Contains(names, "list_agents") || !slices.Contains(names, "list_messages") {
				t.Fatalf("read-only tools/list lost the read tools: %v", names)
			}
			agent, err := h.app.api.CreateAgent(h.ctx, apiclient.CreateAgentRequest{Name: "Desk"})
			if err != nil {
				t.Fatal(err)
			}
			num, err := h.app.api.BuyNumber(h.ctx, apiclient.BuyNumberRequest{AreaCode: "415", AgentID: agent.ID})
			if err != nil {
				t.Fatal(err)
			}
			before := h.effects()
			for _, w := range []struct {
				tool string
				args map[string]any
			}{
				{"send_sms", sms(agent.ID, "+14155550142", "hello")},
				{"make_call", dial(agent.ID, "+14155550142")},
				{"buy_number", map[string]any{"agent_id": agent.ID, "area_code": "212"}},
				{"release_number", map[string]any{"number_id": num.ID}},
				{"delete_agent", map[string]any{"agent_id": agent.ID}},
				{"set_webhook", map[string]any{"url": "https://hooks.example.com/x"}},
				{"create_agent", map[string]any{"name": "Sneaky"}},
			} {
				r, err := h.callErr(c, w.tool, w.args)
				if err == nil && !r.isError {
					t.Fatalf("read-only over %s: %s succeeded: %s", tr, w.tool, r.text)
				}
			}
			if after := h.effects(); after != before {
				t.Fatalf("read-only over %s: a write reached the API: %+v -> %+v", tr, before, after)
			}
			if h.agentState(agent.ID) == "gone" || h.numberStatus(num.ID) != "active" || h.webhookURL() != "none" {
				t.Fatalf("read-only over %s: a destructive write ran", tr)
			}
			agents, err := h.app.api.ListAgents(h.ctx, apiclient.ListParams{Limit: 100})
			if err != nil || len(agents.Data) != 1 {
				t.Fatalf("read-only over %s: create_agent ran (%v, %v)", tr, agents, err)
			}
		})
	}
}

// TestAuditLogOverProtocol makes decisions of every kind through stdio, then checks that the
// audit chain verifies, that the lines name the tools, decisions and rules, that the file is
// 0600, and that the API key appears nowhere in it, even with bodies logged.
func TestAuditLogOverProtocol(t *testing.T) {
	h := newKeyedHarness(t, testAPIKey, func(c *Config) { c.AuditBodies = true })
	c := h.connect("stdio")
	agentID, _, _ := h.setupAgentWithNumber(c)                                          // create_agent (allow), buy_number (confirm, then token)
	mustDeny(t, h.call(c, "send_sms", sms(agentID, "911", "help")), "emergency", "911") // deny
	mustDeny(t, h.call(c, "send_sms", sms(agentID, "+14155550142", "key "+testAPIKey)), "secret_in_content", "key in body")
	mustDeny(t, h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550142", "topic": "say " + testAPIKey}), "secret_in_content", "key in topic")
	h.confirm(c, "send_sms", sms(agentID, "+14155550142", "Your table is ready."))

	lines, err := audit.Verify(h.cfg.AuditLog)
	if err != nil {
		t.Fatalf("audit.Verify: %v", err)
	}
	fi, err := os.Stat(h.cfg.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("audit log mode %04o, want 0600", perm)
	}
	raw, err := os.ReadFile(h.cfg.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), testAPIKey) {
		t.Fatal("the API key is in the audit log")
	}
	type seen struct{ tool, decision, method string }
	var got []seen
	rules := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not an Entry: %v: %s", err, sc.Text())
		}
		got = append(got, seen{e.Tool, e.Decision, e.ConfirmMethod})
		for _, r := range e.Rules {
			rules[r] = true
		}
		if e.Tool == "send_sms" && e.Target == "" && e.Decision != "deny" {
			t.Errorf("an sms line has no normalised target: %s", sc.Text())
		}
	}
	if len(got) != lines || lines < 7 {
		t.Fatalf("Verify counted %d lines, parsed %d: %v", lines, len(got), got)
	}
	for _, r := range []string{"spend", "emergency", "secret_in_content", "first_contact"} {
		if !rules[r] {
			t.Errorf("no audit line names rule %s; rules seen %v", r, rules)
		}
	}
	for _, want := range []seen{{"buy_number", "confirm", "token"}, {"send_sms", "deny", "none"}, {"send_sms", "confirm", "token"}} {
		if !slices.Contains(got, want) {
			t.Errorf("no audit line %+v in %v", want, got)
		}
	}
	if !strings.Contains(string(raw), "Your table is ready.") {
		t.Error("AGENTPHONE_AUDIT_BODIES is on but the sent body is not in the log")
	}
}
