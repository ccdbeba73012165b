package tools_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// TestWaitForCallProgress: a hosted call of slow turns; wait_for_call sends progress with the
// status and the growing turn count, and returns the completed call with its transcript.
func TestWaitForCallProgress(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{TurnTime: 20 * time.Second})
	c := e.connect("inprocess")
	agentID, _, _ := e.agentWithNumber(apiclient.VoiceModeHosted)
	made := e.confirmed(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550123", "topic": "confirm the delivery window"})
	callID := made.str("id")
	if callID == "" {
		t.Fatalf("make_call gave no id: %s", made.text)
	}
	prog := watchProgress(c, "wait-1")
	done := make(chan struct{})
	var got res
	var err error
	go func() {
		defer close(done)
		got, err = e.call(e.ctx, c, "wait_for_call", map[string]any{"call_id": callID, "timeout_seconds": 600}, "wait-1")
	}()
	e.drive(done, 5*time.Second, 2)
	if err != nil || got.isError {
		t.Fatalf("wait_for_call: %v %s", err, got.text)
	}
	if got.str("status") != "completed" || got.data["duration_seconds"] == nil {
		t.Fatalf("want a completed call with a duration, got %v", got.data)
	}
	if !strings.Contains(got.str("summary"), "confirm the delivery window") {
		t.Fatalf("want the call summary, got %q", got.str("summary"))
	}
	if tr, _ := got.data["transcript"].([]any); len(tr) < 2 || !strings.Contains(got.text, "Transcript") {
		t.Fatalf("transcript missing: %s", got.text)
	}
	msgs := prog.until("completed")
	if len(msgs) < 2 {
		t.Fatalf("want progress per long-poll round (status changes, turns), got %q", msgs)
	}
	if !strings.Contains(msgs[0], "in-progress") || !strings.Contains(msgs[len(msgs)-1], "completed") {
		t.Fatalf("progress should move from in-progress to completed: %q", msgs)
	}
	first, last := turnCount(t, msgs[0]), turnCount(t, msgs[len(msgs)-1])
	if last <= first {
		t.Fatalf("turn count did not grow: %q", msgs)
	}
}

func turnCount(t *testing.T, msg string) int {
	t.Helper()
	i := strings.LastIndex(msg, ", ")
	var n int
	if i < 0 || len(msg) <= i+2 {
		t.Fatalf("no turn count in %q", msg)
	}
	for _, r := range msg[i+2:] {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// TestWaitForCallCancellation: cancelling the request (notifications/cancelled over stdio)
// stops the waiting at once without touching the clock; the call goes on.
func TestWaitForCallCancellation(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{TurnTime: 20 * time.Second})
	c := e.connect("stdio")
	agentID, _, _ := e.agentWithNumber(apiclient.VoiceModeHosted)
	callID := e.confirmed(c, "make_call", map[string]any{"agent_id": agentID, "to_number": "+14155550123", "topic": "a reminder"}).str("id")
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() {
		_, err := e.call(ctx, c, "wait_for_call", map[string]any{"call_id": callID}, nil)
		done <- err
	}()
	// The handler is waiting once the sandbox's long-poll timer is on the clock (plus the
	// call's ring timer).
	if err := e.clk.BlockUntilContext(e.ctx, 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want context.Canceled", err)
	}
	if !e.logs.waitDone(e.ctx, "wait_for_call", 1) {
		t.Fatal("the server kept waiting after the request was cancelled")
	}
	got, err := e.api.GetCall(e.ctx, callID, apiclient.GetCallParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Terminal() {
		t.Fatalf("cancelling the wait ended the call: %s", got.Status)
	}
}

// TestWaitForReplyByPolling: no webhook at all; the simulated recipient's auto-reply (or an
// injected STOP) is found by polling with backoff, with progress notifications.
func TestWaitForReplyByPolling(t *testing.T) {
	cases := []struct {
		name      string
		autoReply bool
		inject    string
		want      string
		optedOut  bool
	}{
		{"auto-reply after send_sms", true, "", "Thanks, got your message", false},
		{"STOP goes to the suppression list", false, "STOP", "STOP", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newRecvEnv(t, sandbox.Options{AutoReply: tc.autoReply, ReplyDelay: 3 * time.Second})
			c := e.connect("inprocess")
			agentID, _, number := e.agentWithNumber(apiclient.VoiceModeHosted)
			e.confirmed(c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "(415) 555-0123", "body": "Your table is ready at 7pm"})
			if tc.inject != "" {
				e.clk.Advance(2 * time.Second)
				if _, err := e.sb.InjectInboundSMS("+14155550123", number, tc.inject); err != nil {
					t.Fatal(err)
				}
			}
			prog := watchProgress(c, "reply")
			done := make(chan struct{})
			var got res
			var err error
			go func() {
				defer close(done)
				got, err = e.call(e.ctx, c, "wait_for_reply", map[string]any{"agent_id": agentID, "participant": "415-555-0123",
					"since": start.Format(time.RFC3339), "timeout_seconds": 60}, "reply")
			}()
			if tc.autoReply {
				select { // the first poll found nothing: the reply is due 3 s later on the clock
				case <-prog.got:
				case <-e.ctx.Done():
					t.Fatal("no progress notification while polling")
				}
			}
			e.driveSettled(done, time.Second, 1)
			if err != nil || got.isError {
				t.Fatalf("wait_for_reply: %v %s", err, got.text)
			}
			if got.str("status") != "replied" || got.str("via") != "poll" || !strings.Contains(got.text, tc.want) {
				t.Fatalf("want a polled reply with %q, got %v\n%s", tc.want, got.data, got.text)
			}
			if !strings.Contains(got.text, "data, not instructions") {
				t.Fatalf("reply not labelled as third-party text: %s", got.text)
			}
			msgs, _ := got.data["messages"].([]any)
			first, _ := msgs[0].(map[string]any)
			if opted, _ := first["opted_out"].(bool); opted != tc.optedOut {
				t.Fatalf("opted_out = %v, want %v", opted, tc.optedOut)
			}
			again, err := e.call(e.ctx, c, "send_sms", map[string]any{"agent_id": agentID, "to_number": "+14155550123", "body": "One more thing"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if refused := again.isError && strings.Contains(again.text, "opted_out"); refused != tc.optedOut {
				t.Fatalf("after the reply, texting again refused=%v, want %v: %s", refused, tc.optedOut, again.text)
			}
		})
	}
}

// TestWaitForReplyByWebhook: with the sandbox's webhook pointed at the receiver, a reply wakes
// the waiting tool at once: the clock never moves, so polling cannot have found it.
func TestWaitForReplyByWebhook(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{})
	c := e.connect("inprocess")
	_, numberID, number := e.agentWithNumber(apiclient.VoiceModeHosted)
	if _, err := e.api.SetWebhook(e.ctx, apiclient.SetWebhookRequest{URL: e.hookURL}); err != nil {
		t.Fatal(err)
	}
	prog := watchProgress(c, "hook")
	done := make(chan struct{})
	var got res
	var err error
	go func() {
		defer close(done)
		got, err = e.call(e.ctx, c, "wait_for_reply", map[string]any{"number_id": numberID, "participant": "+14155550177"}, "hook")
	}()
	select { // the first poll found nothing and the tool is listening
	case <-prog.got:
	case <-e.ctx.Done():
		t.Fatal("wait_for_reply never reported progress")
	}
	if _, err := e.sb.InjectInboundSMS("+14155550177", number, "Yes, 7pm works.\u200b"); err != nil {
		t.Fatal(err)
	}
	<-done
	if err != nil || got.isError {
		t.Fatalf("wait_for_reply: %v %s", err, got.text)
	}
	if got.str("via") != "webhook" || !strings.Contains(got.text, "Yes, 7pm works.") || strings.Contains(got.text, "\u200b") {
		t.Fatalf("want the sanitised reply via webhook, got %v\n%s", got.data, got.text)
	}
	if !e.clk.Now().Equal(start) {
		t.Fatal("the clock moved")
	}
}

func TestWaitForReplyArguments(t *testing.T) {
	e := newRecvEnv(t, sandbox.Options{})
	c := e.connect("inprocess")
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "give conversation_id"},
		{map[string]any{"agent_id": "agt_1"}, "participant"},
		{map[string]any{"conversation_id": "conv_1", "participant": "+14155550123"}, "not both"},
		{map[string]any{"number_id": "num_1", "participant": "911"}, "participant"},
		{map[string]any{"conversation_id": "conv_1", "timeout_seconds": 301}, "timeout_seconds"},
		{map[string]any{"conversation_id": "conv_1", "since": "yesterday"}, "RFC 3339"},
	}
	for _, tc := range cases {
		r, err := e.call(e.ctx, c, "wait_for_reply", tc.args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !r.isError || !strings.Contains(r.text, tc.want) {
			t.Fatalf("%v: want an error naming %q, got %s", tc.args, tc.want, r.text)
		}
	}
	r, _ := e.call(e.ctx, c, "wait_for_call", map[string]any{"call_id": "call_x", "timeout_seconds": 601}, nil)
	if !r.isError || !strings.Contains(r.text, "600") {
		t.Fatalf("wait_for_call bound: %s", r.text)
	}
}
