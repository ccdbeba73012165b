package server

// Issue 5 through the MCP protocol: every confirm rule (the preview changes nothing, the
// confirmed call does the thing), and that a confirmation never overrides a deny.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// confirmEnv is what a confirm case works on: the harness agent with its number, plus a
// second agent, a second number and a contact that the destructive cases remove.
type confirmEnv struct {
	denyEnv
	spareAgent, spareNumber, contactID string
}

// confirmCase is one confirm-tier call. state snapshots what the call would change: it must be
// the same after the preview and different after the confirmed call.
type confirmCase struct {
	name  string
	tool  string
	args  func(e *confirmEnv) map[string]any
	rules []string
	state func(e *confirmEnv) string
}

func confirmCases() []confirmCase {
	known := "+14155550160" // texted once in setup, so it is no longer a first contact
	return []confirmCase{
		{name: "buy_number", tool: "buy_number", rules: []string{"spend"},
			args:  func(e *confirmEnv) map[string]any { return map[string]any{"agent_id": e.agentID, "area_code": "212"} },
			state: func(e *confirmEnv) string { return fmt.Sprint(e.h.countNumbers()) }},
		{name: "release_number", tool: "release_number", rules: []string{"irreversible"},
			args:  func(e *confirmEnv) map[string]any { return map[string]any{"number_id": e.spareNumber} },
			state: func(e *confirmEnv) string { return e.h.numberStatus(e.spareNumber) }},
		{name: "delete_agent", tool: "delete_agent", rules: []string{"irreversible"},
			args:  func(e *confirmEnv) map[string]any { return map[string]any{"agent_id": e.spareAgent} },
			state: func(e *confirmEnv) string { return e.h.agentState(e.spareAgent) }},
		{name: "delete_contact", tool: "delete_contact", rules: []string{"irreversible"},
			args:  func(e *confirmEnv) map[string]any { return map[string]any{"contact_id": e.contactID} },
			state: func(e *confirmEnv) string { return e.h.contactState(e.contactID) }},
		{name: "set_webhook", tool: "set_webhook", rules: []string{"webhook_change"},
			args: func(e *confirmEnv) map[string]any {
				return map[string]any{"url": "https://hooks.example.com/agentphone"}
			},
			state: func(e *confirmEnv) string { return e.h.webhookURL() }},
		{name: "delete_webhook", tool: "delete_webhook", rules: []string{"webhook_change"},
			args:  func(e *confirmEnv) map[string]any { return map[string]any{} },
			state: func(e *confirmEnv) string { return e.h.webhookURL() }},
		{name: "update_agent system_prompt", tool: "update_agent", rules: []string{"agent_change"},
			args: func(e *confirmEnv) map[string]any {
				return map[string]any{"agent_id": e.agentID, "system_prompt": "Be terse and polite."}
			},
			state: func(e *confirmEnv) string { return e.h.agentState(e.agentID) }},
		{name: "update_agent transfer_number", tool: "update_agent", rules: []string{"agent_change"},
			args: func(e *confirmEnv) map[string]any {
				return map[string]any{"agent_id": e.agentID, "transfer_number": "(415) 555-0150"}
			},
			state: func(e *confirmEnv) string { return e.h.agentState(e.agentID) }},
		{name: "send_sms first_contact", tool: "send_sms", rules: []string{"first_contact"},
			args:  func(e *confirmEnv) map[string]any { return sms(e.agentID, "+14155550161", "Your table is ready.") },
			state: func(e *confirmEnv) string { return fmt.Sprint(e.h.sentMessages()) }},
		{name: "make_call first_contact", tool: "make_call", rules: []string{"first_contact"},
			args:  func(e *confirmEnv) map[string]any { return dial(e.agentID, "+14155550162") },
			state: func(e *confirmEnv) string { return fmt.Sprint(e.h.placedCalls()) }},
		{name: "send_sms sms_long (4 segments)", tool: "send_sms", rules: []string{"sms_long"},
			args:  func(e *confirmEnv) map[string]any { return sms(e.agentID, known, longBody(40)) },
			state: func(e *confirmEnv) string { return fmt.Sprint(e.h.sentMessages()) }},
		{name: "send_sms sms_long (10 segments)", tool: "send_sms", rules: []string{"sms_long"},
			args:  func(e *confirmEnv) map[string]any { return sms(e.agentID, known, longBody(117)) },
			state: func(e *confirmEnv) string { return fmt.Sprint(e.h.sentMessages()) }},
		{name: "send_sms duplicate", tool: "send_sms", rules: []string{"duplicate"},
			args:  func(e *confirmEnv) map[string]any { return sms(e.agentID, known, "See you at 6.") },
			state: func(e *confirmEnv) string { return fmt.Sprint(e.h.sentMessages()) }},
	}
}

func (h *harness) numberStatus(id string) string {
	h.t.Helper()
	n, err := h.app.api.GetNumber(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(n.Status)
}

// agentState is the agent's prompt and transfer number, or "gone" once it is deleted.
func (h *harness) agentState(id string) string {
	a, err := h.app.api.GetAgent(h.ctx, id)
	if err != nil {
		return "gone"
	}
	return a.SystemPrompt + "|" + a.TransferNumber
}

func (h *harness) contactState(id string) string {
	if _, err := h.app.api.GetContact(h.ctx, id); err != nil {
		return "gone"
	}
	return "present"
}

func (h *harness) webhookURL() string {
	w, err := h.app.api.GetWebhook(h.ctx)
	if err != nil || w == nil {
		return "none"
	}
	return w.URL
}

// setupConfirmEnv makes the agent and number, a spare agent and number, a contact, a project
// webhook, and a known recipient texted "See you at 6." (so the same text is a duplicate).
func setupConfirmEnv(h *harness, tr string) *confirmEnv {
	h.t.Helper()
	c := h.connect(tr)
	agentID, numberID, phone := h.setupAgentWithNumber(c)
	e := &confirmEnv{denyEnv: denyEnv{h: h, c: c, agentID: agentID, numberID: numberID, phone: phone}}
	spare, err := h.app.api.CreateAgent(h.ctx, apiclient.CreateAgentRequest{Name: "Spare"})
	if err != nil {
		h.t.Fatal(err)
	}
	num, err := h.app.api.BuyNumber(h.ctx, apiclient.BuyNumberRequest{AreaCode: "646"})
	if err != nil {
		h.t.Fatal(err)
	}
	e.spareAgent, e.spareNumber = spare.ID, num.ID
	ct := h.mustOK(h.call(c, "create_contact", map[string]any{"phone_number": "+14155550170", "name": "Dana"}), "create_contact")
	e.contactID = ct.str("id")
	if _, err := h.app.api.SetWebhook(h.ctx, apiclient.SetWebhookRequest{URL: "https://old.example.com/hook"}); err != nil {
		h.t.Fatal(err)
	}
	h.confirm(c, "send_sms", sms(agentID, "+14155550160", "See you at 6."))
	return e
}

// TestConfirmRulesOverProtocol drives every confirm rule: the first call returns
// confirmation_required with exactly the expected rule IDs and a preview and changes nothing at
// the API; the same call with the token does the thing.
func TestConfirmRulesOverProtocol(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			e := setupConfirmEnv(h, tr)
			for _, tc := range confirmCases() {
				args := tc.args(e)
				before := tc.state(e)
				tok := mustConfirm(t, h.call(e.c, tc.tool, args), tc.name, tc.rules...)
				if got := tc.state(e); got != before {
					t.Fatalf("%s: the preview changed the API: %q -> %q", tc.name, before, got)
				}
				h.mustOK(h.call(e.c, tc.tool, with(args, "confirmation_token", tok)), tc.name+" confirmed")
				if got := tc.state(e); got == before {
					t.Fatalf("%s: the confirmed call changed nothing (%q)", tc.name, got)
				}
			}
			// Writes that are not confirm-tier run at once.
			r := h.mustOK(h.call(e.c, "update_agent", map[string]any{"agent_id": e.agentID, "name": "Front desk"}), "rename agent")
			if r.str("status") == "confirmation_required" {
				t.Fatalf("renaming an agent asked for confirmation: %s", r.text)
			}
		})
	}
}

// TestInternationalConfirmOverProtocol allows GB and texts a UK mobile in UK daytime: it is a
// confirm [international, first_contact]; with GB not allowed it is a deny [country].
func TestInternationalConfirmOverProtocol(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.AllowedCountries = append(c.AllowedCountries, "GB") })
			c := h.connect(tr)
			agentID, _, _ := h.setupAgentWithNumber(c)
			// testStart is 21:00 in London (outside 08:00-21:00); +13h is 10:00 there.
			h.clk.Advance(13 * time.Hour)
			args := sms(agentID, "+44 7400 123456", "Your parcel arrives today.")
			tok := mustConfirm(t, h.call(c, "send_sms", args), "UK mobile", "international", "first_contact")
			if got := h.sentMessages(); got != 0 {
				t.Fatalf("the preview sent %d messages", got)
			}
			h.mustOK(h.call(c, "send_sms", with(args, "confirmation_token", tok)), "UK mobile confirmed")
			// Known now, still international.
			mustConfirm(t, h.call(c, "send_sms", with(args, "body", "It is at the depot.")), "UK again", "international")
			// Jamaica is +1 but not allowed: a deny, whatever GB's status.
			mustDeny(t, h.call(c, "send_sms", sms(agentID, "+1 876 927 1234", "hi")), "country", "Jamaica")
		})
	}
}

// TestConfirmationNeverOverridesDeny takes a token from a confirm preview, then makes the action
// deny-tier (quiet hours start; the recipient opts out; the caps fill) before redeeming it: the
// confirmed call is denied and nothing is sent.
func TestConfirmationNeverOverridesDeny(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			agentID, numberID, phone := h.setupAgentWithNumber(c)

			// 20:58 in San Francisco; the window closes at 21:00.
			h.clk.Advance(7*time.Hour + 58*time.Minute)
			args := sms(agentID, "+14155550142", "Last call for dinner orders.")
			tok := mustConfirm(t, h.call(c, "send_sms", args), "20:58", "first_contact")
			h.clk.Advance(3 * time.Minute)
			mustDeny(t, h.call(c, "send_sms", with(args, "confirmation_token", tok)), "quiet_hours", "token redeemed at 21:01")
			callArgs := dial(agentID, "+14155550143")
			mustDeny(t, h.call(c, "make_call", callArgs), "quiet_hours", "call at 21:01")
			if got := h.effects(); got.messages != 0 || got.calls != 0 {
				t.Fatalf("a token overrode a deny: %+v", got)
			}

			// Next morning: preview, then the recipient replies STOP, then the token.
			h.clk.Advance(12 * time.Hour) // 09:01
			args = sms(agentID, "+14155550144", "Your order shipped.")
			tok = mustConfirm(t, h.call(c, "send_sms", args), "09:01", "first_contact")
			if _, err := h.sb.InjectInboundSMS("+14155550144", phone, "STOP"); err != nil {
				t.Fatal(err)
			}
			h.mustOK(h.call(c, "list_messages", map[string]any{"number_id": numberID}), "list_messages")
			before := h.effects() // the inbound STOP is one message
			mustDeny(t, h.call(c, "send_sms", with(args, "confirmation_token", tok)), "opted_out", "token after STOP")
			if got := h.effects(); got != before {
				t.Fatalf("a token overrode an opt-out: %+v -> %+v", before, got)
			}
		})
	}
}

// TestTwoStepTokenDefects is auto mode without elicitation: wrong, changed-arguments, expired
// and reused tokens are refused with the reason, and nothing is sent.
func TestTwoStepTokenDefects(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			agentID, _, _ := h.setupAgentWithNumber(c)
			args := sms(agentID, "+14155550142", "Your table is ready.")
			tok := mustConfirm(t, h.call(c, "send_sms", args), "preview", "first_contact")
			refusals := []struct {
				name, why string
				args      map[string]any
			}{
				{"wrong token", "", with(args, "confirmation_token", flipLast(tok))},
				{"garbage token", "", with(args, "confirmation_token", "not-a-token")},
				{"changed body", "mismatch", with(with(args, "body", "Your table is gone."), "confirmation_token", tok)},
				{"changed recipient", "mismatch", with(with(args, "to_number", "+14155550143"), "confirmation_token", tok)},
				{"other tool", "mismatch", with(dial(agentID, "+14155550142"), "confirmation_token", tok)},
			}
			for _, rf := range refusals {
				tool := "send_sms"
				if _, isCall := rf.args["topic"]; isCall {
					tool = "make_call"
				}
				if rf.why == "mismatch" { // a mismatch spends the token: each case gets its own
					tok = mustConfirm(t, h.call(c, "send_sms", args), rf.name+" preview", "first_contact")
					rf.args = with(rf.args, "confirmation_token", tok)
				}
				r := h.call(c, tool, rf.args)
				if !r.isError || r.str("status") != "confirmation_refused" || !strings.Contains(r.text, rf.why) {
					t.Fatalf("%s: want confirmation_refused (%q), got %s", rf.name, rf.why, r.text)
				}
				if got := h.effects(); got.messages != 0 || got.calls != 0 {
					t.Fatalf("%s: a refused token ran the action: %+v", rf.name, got)
				}
			}
			r := h.call(c, "send_sms", with(args, "confirmation_token", tok))
			if !r.isError || !strings.Contains(r.text, "reused") {
				t.Fatalf("a token presented with other arguments stayed usable: %s", r.text)
			}
			tok = mustConfirm(t, h.call(c, "send_sms", args), "fresh preview", "first_contact")
			h.mustOK(h.call(c, "send_sms", with(args, "confirmation_token", tok)), "the right token")
			if got := h.sentMessages(); got != 1 {
				t.Fatalf("want 1 message, got %d", got)
			}
			// Reused: the action is now a duplicate (confirm tier), so the token is checked.
			r = h.call(c, "send_sms", with(args, "confirmation_token", tok))
			if !r.isError || r.str("status") != "confirmation_refused" || !strings.Contains(r.text, "reused") {
				t.Fatalf("reused token: want a reuse refusal, got %s", r.text)
			}
			// Expired: a fresh preview, redeemed after 5 minutes.
			args = with(args, "body", "Table 4 is ready.")
			tok = mustConfirm(t, h.call(c, "send_sms", with(args, "to_number", "+14155550145")), "second preview", "first_contact")
			h.clk.Advance(5*time.Minute + time.Second)
			r = h.call(c, "send_sms", with(with(args, "to_number", "+14155550145"), "confirmation_token", tok))
			if !r.isError || r.str("status") != "confirmation_refused" || !strings.Contains(r.text, "expired") {
				t.Fatalf("expired token: want an expiry refusal, got %s", r.text)
			}
			if got := h.sentMessages(); got != 1 {
				t.Fatalf("refused tokens sent messages: %d, want 1", got)
			}
		})
	}
}

// TestTokenSpentByAnyCall: a token is spent by any call it is presented with, also one that
// needed no confirmation, and approves only the rules its preview showed. The defect: a
// token shown for a first-contact preview, presented once the recipient was known (an
// allowed call), stayed unspent and later approved a duplicate send nobody saw.
func TestTokenSpentByAnyCall(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			agentID, _, _ := h.setupAgentWithNumber(c)
			const to = "+14155550142"
			first := sms(agentID, to, "Your table is ready.")
			tokFirst := mustConfirm(t, h.call(c, "send_sms", first), "preview of the first text", "first_contact")
			other := sms(agentID, to, "We saved you a window seat.")
			tokOther := mustConfirm(t, h.call(c, "send_sms", other), "preview of another text", "first_contact")
			h.mustOK(h.call(c, "send_sms", with(other, "confirmation_token", tokOther)), "the other text, confirmed")

			// The recipient is known now: the first text needs no confirmation, and goes out
			// once. The token presented with it is spent all the same.
			h.mustOK(h.call(c, "send_sms", with(first, "confirmation_token", tokFirst)), "an allowed call carrying a token")
			if got := h.sentMessages(); got != 2 {
				t.Fatalf("messages sent = %d, want 2", got)
			}
			// The same text again is a duplicate: the spent token cannot approve it.
			r := h.call(c, "send_sms", with(first, "confirmation_token", tokFirst))
			if !r.isError || r.str("status") != "confirmation_refused" || !strings.Contains(r.text, "reused") {
				t.Fatalf("a token spent on an allowed call was accepted again: %s", r.text)
			}
			if got := h.sentMessages(); got != 2 {
				t.Fatalf("a spent token sent a duplicate: %d messages, want 2", got)
			}

			// A token shown for [first_contact] cannot approve a [duplicate] that appeared
			// after its preview: it needs a new confirmation, and the token is spent.
			const to2 = "+14155550143"
			dup := sms(agentID, to2, "Doors open at 7.")
			tokA := mustConfirm(t, h.call(c, "send_sms", dup), "preview A", "first_contact")
			tokB := mustConfirm(t, h.call(c, "send_sms", dup), "preview B", "first_contact")
			h.mustOK(h.call(c, "send_sms", with(dup, "confirmation_token", tokB)), "confirmed by B")
			r = h.call(c, "send_sms", with(dup, "confirmation_token", tokA))
			if !r.isError || r.str("status") != "needs_confirmation" || !contains(r.data["rules"], "duplicate") || contains(r.data["rules"], "first_contact") {
				t.Fatalf("a first-contact token approved a duplicate: isError=%v data=%v text=%s", r.isError, r.data, r.text)
			}
			if got := h.sentMessages(); got != 3 {
				t.Fatalf("messages sent = %d, want 3 (no duplicate)", got)
			}
			r = h.call(c, "send_sms", with(dup, "confirmation_token", tokA))
			if !r.isError || !strings.Contains(r.text, "reused") {
				t.Fatalf("the refused token stayed usable: %s", r.text)
			}
			// A fresh preview names the duplicate, and its token approves it.
			tokD := mustConfirm(t, h.call(c, "send_sms", dup), "duplicate preview", "duplicate")
			h.mustOK(h.call(c, "send_sms", with(dup, "confirmation_token", tokD)), "the duplicate, confirmed")
			if got := h.sentMessages(); got != 4 {
				t.Fatalf("messages sent = %d, want 4", got)
			}
		})
	}
}

// flipLast changes the last character of s, so a token stays well-formed but wrong.
func flipLast(s string) string {
	last := byte('A')
	if s[len(s)-1] == 'A' {
		last = 'B'
	}
	return s[:len(s)-1] + string(last)
}
