package server

// Issue 15 items 2 and 3 through MCP: a STOP counts whether or not the model read it, and a
// spoken "stop calling me" on a finished call opts the number out of calls.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// TestSTOPHonouredWithoutAnyRead: the recipient replies STOP and the model reads nothing; the
// next send_sms and make_call to them are denied [opted_out] because the server reads their
// latest replies before every text or call.
func TestSTOPHonouredWithoutAnyRead(t *testing.T) {
	for _, tr := range protocolTransports {
		t.Run(tr, func(t *testing.T) {
			h := newHarness(t)
			c := h.connect(tr)
			agentID, _, number := h.setupAgentWithNumber(c)
			const to = "+14155550142"
			h.confirm(c, "send_sms", sms(agentID, to, "Your table is ready."))
			if _, err := h.sb.InjectInboundSMS(to, number, "STOP"); err != nil {
				t.Fatal(err)
			}
			sent, calls := h.sentMessages(), h.placedCalls()
			mustDeny(t, h.call(c, "send_sms", sms(agentID, to, "Are you coming?")), "opted_out", "send_sms after an unread STOP")
			mustDeny(t, h.call(c, "make_call", dial(agentID, to)), "opted_out", "make_call after an unread STOP")
			if h.sentMessages() != sent || h.placedCalls() != calls {
				t.Fatalf("something went out after STOP: messages %d -> %d, calls %d -> %d", sent, h.sentMessages(), calls, h.placedCalls())
			}
			if o, err := h.app.store.IsOptedOut(h.ctx, to, store.ChannelSMS); !o || err != nil {
				t.Fatalf("the STOP is not on the suppression list: %v %v", o, err)
			}
		})
	}
}

// TestSTOPReadFailureRefuses: when the recipient's replies cannot be read, the text is refused
// with a clear error (fail closed), and goes out once the API answers again.
func TestSTOPReadFailureRefuses(t *testing.T) {
	h := newHarness(t)
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	const to = "+14155550143"
	h.confirm(c, "send_sms", sms(agentID, to, "Hello"))
	sent := h.sentMessages()
	h.sb.SetFault("GET /v1/conversations", faultStatus(500))
	r := h.call(c, "send_sms", sms(agentID, to, "Second"))
	if !r.isError || r.str("status") != "policy_error" || !strings.Contains(r.text, "opt-out") || !strings.Contains(r.text, "Nothing was sent") {
		t.Fatalf("a failed replies read: want a policy_error naming the opt-out check, got %s", r.text)
	}
	h.sb.ClearFaults()
	// An API that does not answer (the fault holds the answer for an hour of the fake clock):
	// the check gives up at its bound (5 s; shortened here, it is real time) and refuses.
	h.app.replies.bound = 200 * time.Millisecond
	h.sb.SetFault("GET /v1/calls", sandbox.Fault{Latency: time.Hour})
	r = h.call(c, "send_sms", sms(agentID, to, "Second"))
	if !r.isError || r.str("status") != "policy_error" || !strings.Contains(r.text, "within 200ms") {
		t.Fatalf("a hung replies read: want a policy_error at the bound, got %s", r.text)
	}
	h.app.replies.bound = repliesBound
	h.sb.ClearFaults()
	if h.sentMessages() != sent {
		t.Fatal("the text went out although the opt-out check failed")
	}
	h.mustOK(h.call(c, "send_sms", sms(agentID, to, "Second")), "send after the API recovered")
}

// TestSpokenOptOut: "stop calling me" on a finished call denies the next make_call and still
// allows a text; "don't text me either" denies both. Once seen when make_call's wait ends, once
// only by the pre-send check (nobody read the call).
func TestSpokenOptOut(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ConfirmMode = "off" })
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)

	const waited = "+14155550151"
	h.sb.SetCalleeLines(waited, "Who is this?", "Stop calling me. Do not call me again.")
	done := make(chan result, 1)
	go func() {
		done <- h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": waited, "topic": "the delivery", "wait": true})
	}()
	r := h.mustOK(h.advanceUntil(done, time.Second), "make_call wait")
	if r.str("status") != "completed" || !strings.Contains(r.text, "asked not to be called again") || r.str("opted_out") == "" {
		t.Fatalf("the waited call's result does not report the spoken opt-out: %v %s", r.data, r.text)
	}
	h.clk.Advance(11 * time.Minute)
	mustDeny(t, h.call(c, "make_call", dial(agentID, waited)), "opted_out", "make_call after a spoken opt-out")
	h.mustOK(h.call(c, "send_sms", sms(agentID, waited, "Sorry about the call.")), "a text after a call-only opt-out")

	const unread = "+14155550152"
	h.sb.SetCalleeLines(unread, "Hello?", "Take me off your list, and don't text me either.")
	placed := h.mustOK(h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": unread, "topic": "the delivery"}), "make_call without wait")
	h.settleCall(placed.str("id"))
	h.clk.Advance(11 * time.Minute) // past the per-recipient call window: only the opt-out can deny
	mustDeny(t, h.call(c, "make_call", dial(agentID, unread)), "opted_out", "make_call after an unread spoken opt-out")
	mustDeny(t, h.call(c, "send_sms", sms(agentID, unread, "Hi")), "opted_out", "send_sms after 'don't text me either'")

	// Said while the call is still going on: honoured at once, before the call ends.
	const live = "+14155550153"
	h.sb.SetCalleeLines(live, "Stop calling me, and don't text me either.", "Hello?", "Are you there?", "Bye.")
	liveCall := h.mustOK(h.call(c, "make_call", map[string]any{"agent_id": agentID, "to_number": live, "topic": "the delivery"}), "make_call (live)")
	h.untilCallerSpoke(liveCall.str("id"))
	mustDeny(t, h.call(c, "send_sms", sms(agentID, live, "Hi")), "opted_out", "send_sms while the call that refused texts goes on")

	l, err := h.app.policy.OptOuts().List(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range l {
		got[o.E164] = o.Channel
	}
	if got[waited] != "call" || got[unread] != "all" || got[live] != "all" {
		t.Fatalf("opt-out scopes = %v; want %s call, %s all, %s all", got, waited, unread, live)
	}
}

// untilCallerSpoke advances the fake clock until the callee has said something on a call that
// is still in progress (read from the sandbox, not through a tool).
func (h *harness) untilCallerSpoke(id string) {
	h.t.Helper()
	for i := 0; i < 60; i++ {
		cl, err := h.rawAPI().GetCall(h.ctx, id, apiGetCall())
		if err != nil {
			h.t.Fatal(err)
		}
		if cl.Status == "in-progress" {
			for _, tr := range cl.Transcripts {
				if tr.Transcript != "" {
					return
				}
			}
		}
		if cl.Status.Terminal() {
			h.t.Fatalf("call %s ended before the callee spoke", id)
		}
		h.clk.Advance(time.Second)
		_ = h.sb.Settle(h.ctx)
	}
	h.t.Fatalf("the callee never spoke on %s", id)
}

// settleCall advances the fake clock until the sandbox call has ended (read from the sandbox,
// not through a tool).
func (h *harness) settleCall(id string) {
	h.t.Helper()
	for i := 0; i < 600; i++ {
		cl, err := h.rawAPI().GetCall(h.ctx, id, apiGetCall())
		if err != nil {
			h.t.Fatal(err)
		}
		if cl.Status.Terminal() {
			return
		}
		h.clk.Advance(time.Second)
		_ = h.sb.Settle(h.ctx)
	}
	h.t.Fatalf("call %s did not end", id)
}

// TestSpokenOptOutByWebhook: an agent.call_ended whose caller said "do not call me again" opts
// the caller out of calls at once; a live caller turn saying "stop calling me, and no texts"
// opts out of both and is answered by the server with a goodbye and a hangup, not held for the
// model.
func TestSpokenOptOutByWebhook(t *testing.T) {
	h, url := newReceiverHarness(t, testWebhookSecret)
	at := h.clk.Now()
	ended, _ := json.Marshal(map[string]any{"event": "agent.call_ended", "channel": "voice", "timestamp": at.Format(time.RFC3339), "agentId": "agt_1",
		"data": map[string]any{"callId": "call_w1", "numberId": "num_1", "from": "+14155550100", "to": "+14155550161", "direction": "outbound",
			"status": "completed", "transcript": []map[string]string{
				{"role": "agent", "content": "Hi, this is an AI assistant. Do not call me again if you prefer."},
				{"role": "user", "content": "Yes. Do not call me again."}}}})
	if s, b := deliver(t, url, testWebhookSecret, "dlv_w1", at, ended, ""); s != 200 {
		t.Fatalf("call_ended: %d %s", s, b)
	}
	voice, _ := json.Marshal(map[string]any{"event": "agent.message", "channel": "voice", "timestamp": at.Format(time.RFC3339), "agentId": "agt_1",
		"data": map[string]any{"callId": "call_w2", "numberId": "num_1", "from": "+14155550162", "to": "+14155550100",
			"status": "in-progress", "transcript": "Stop calling me, and don't text me either.", "direction": "inbound"}})
	s, b := deliver(t, url, testWebhookSecret, "dlv_w2", at, voice, "")
	if s != 200 || !strings.Contains(b, `"hangup":true`) || !strings.Contains(b, "will not be called again") {
		t.Fatalf("a live do-not-call turn: want the server's goodbye and a hangup, got %d %s", s, b)
	}
	l, err := h.app.policy.OptOuts().List(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range l {
		got[o.E164] = o.Channel
	}
	// The agent's own words ("Do not call me again if you prefer") never count: only the callee's.
	if got["+14155550161"] != "call" || got["+14155550162"] != "all" || got["+14155550100"] != "" {
		t.Fatalf("opt-outs after the webhooks = %v; want +14155550161 call, +14155550162 all, nothing for our number", got)
	}
}
