package tools_test

import (
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/server"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// liveSetup makes a webhook-mode agent whose own webhook points at the receiver, and rings
// it with the given caller lines. It returns the call id.
func liveSetup(t *testing.T, e *recvEnv, lines ...string) string {
	t.Helper()
	agentID, _, number := e.agentWithNumber(apiclient.VoiceModeWebhook)
	if _, err := e.api.SetAgentWebhook(e.ctx, agentID, apiclient.SetWebhookRequest{URL: e.hookURL}); err != nil {
		t.Fatal(err)
	}
	callID, err := e.sb.InjectInboundCall("+14155550188", number, sandbox.WithCallerLines(lines...))
	if err != nil {
		t.Fatal(err)
	}
	return callID
}

// listen runs listen_call while driving the sandbox's ring and turn timers (the call's time
// bound and the listen timeout are two more timers on the clock).
func (e *recvEnv) listen(args map[string]any) res {
	e.t.Helper()
	cl := e.connectOnce()
	done := make(chan struct{})
	var got res
	var err error
	go func() {
		defer close(done)
		got, err = e.call(e.ctx, cl, "listen_call", args, nil)
	}()
	// Once a caller turn is held, its filler timer is on the clock: stop advancing, or the
	// filler would play before listen_call's answer even reaches the test.
	e.driveWhile(done, time.Second, 3, func() bool { return e.app.Deps().Live.OpenTurns() == 0 })
	if err != nil || got.isError {
		e.t.Fatalf("listen_call: %v %s", err, got.text)
	}
	return got
}

func TestLiveCallThreeTurnsEndingInHangup(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{})
	c := e.connectOnce()
	callID := liveSetup(t, e, "Hi, is the shop open today?", "Until what time?", "Great, thanks.")
	answers := []map[string]any{
		{"text": "Yes, we are open today."},
		{"text": "Until 6pm."},
		{"text": "You're welcome, goodbye!", "hangup": true},
	}
	wantCaller := []string{"is the shop open", "what time", "thanks"}
	for i, a := range answers {
		turn := e.listen(map[string]any{"timeout_seconds": 120})
		if turn.str("status") != "turn" || turn.str("call_id") != callID || !strings.Contains(turn.str("caller_said"), wantCaller[i]) {
			t.Fatalf("turn %d: %v", i, turn.data)
		}
		if isNew, _ := turn.data["new_call"].(bool); isNew != (i == 0) {
			t.Fatalf("turn %d: new_call = %v", i, isNew)
		}
		a["call_id"] = callID
		said := e.mustCall(c, "say", a)
		if said.str("status") != "answered" {
			t.Fatalf("say %d: %s", i, said.text)
		}
	}
	ended := e.listen(map[string]any{"call_id": callID})
	if ended.str("status") != "ended" || ended.str("call_status") != "completed" {
		t.Fatalf("after the hangup: %v", ended.data)
	}
	spoken := e.sb.Spoken(callID)
	want := []string{"Yes, we are open today.", "Until 6pm.", "You're welcome, goodbye!"}
	if strings.Join(spoken, "|") != strings.Join(want, "|") {
		t.Fatalf("spoken %q, want %q", spoken, want)
	}
	got, err := e.api.GetCall(e.ctx, callID, apiclient.GetCallParams{})
	if err != nil || got.Status != apiclient.CallStatus("completed") {
		t.Fatalf("call status %v, %v", got, err)
	}
	late, _ := e.call(e.ctx, c, "say", map[string]any{"call_id": callID, "text": "Hello?"}, nil)
	if !late.isError || late.str("status") != "no_turn" {
		t.Fatalf("say after the call: %s", late.text)
	}
}

func TestLiveCallModelNeverAnswers(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{})
	c := e.connectOnce()
	events, unsub := e.app.Deps().Events.Subscribe()
	defer unsub()
	callID := liveSetup(t, e, "Hello? Anyone there?")
	turn := e.listen(nil)
	if turn.str("call_id") != callID {
		t.Fatalf("listen_call: %v", turn.data)
	}
	// The model never calls say: the receiver's hold timer is the only one on the clock.
	ended := make(chan struct{})
	go func() {
		for ev := range events {
			if ev.Kind == tools.EventCallEnded && ev.CallID == callID {
				close(ended)
				return
			}
		}
	}()
	e.drive(ended, 5*time.Second, 1)
	spoken := strings.Join(e.sb.Spoken(callID), " ")
	if strings.Count(spoken, server.InterimFiller) != 2 || !strings.HasSuffix(spoken, server.LiveGoodbye) {
		t.Fatalf("want two fillers then the goodbye, caller heard %q", spoken)
	}
	got, err := e.api.GetCall(e.ctx, callID, apiclient.GetCallParams{})
	if err != nil || !got.Status.Terminal() {
		t.Fatalf("the unanswered call did not end: %v %v", got, err)
	}
	if elapsed := e.clk.Since(start); elapsed < 75*time.Second {
		t.Fatalf("the turn was ended after %s, before two fillers (25 s each) and the final wait", elapsed)
	}
	late, _ := e.call(e.ctx, c, "say", map[string]any{"call_id": callID, "text": "Sorry!"}, nil)
	if !late.isError || late.str("status") != "no_turn" {
		t.Fatalf("a late say must find no turn: %s", late.text)
	}
}

func TestSayArguments(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{})
	c := e.connectOnce()
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"text": "hi"}, "call_id"},
		{map[string]any{"call_id": "call_1"}, "give text"},
		{map[string]any{"call_id": "call_1", "digits": "12a"}, "digits"},
		{map[string]any{"call_id": "call_1", "digits": "1", "transfer": true}, "transfer and digits"},
		{map[string]any{"call_id": "call_1", "text": "hi"}, "listen_call first"},
		{map[string]any{"call_id": "call_1", "text": strings.Repeat("a", 1001)}, "longer than"},
	}
	for _, tc := range cases {
		r, err := e.call(e.ctx, c, "say", tc.args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !r.isError || !strings.Contains(r.text, tc.want) {
			t.Fatalf("%v: want an error naming %q, got %s", tc.args, tc.want, r.text)
		}
	}
	// listen_call's schema no longer states its bound: the error does.
	r, err := e.call(e.ctx, c, "listen_call", map[string]any{"timeout_seconds": 301}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.isError || !strings.Contains(r.text, "between 1 and 300") {
		t.Fatalf("listen_call timeout_seconds 301: %s", r.text)
	}
}
