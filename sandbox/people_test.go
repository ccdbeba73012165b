package sandbox

import (
	"fmt"
	"testing"
	"time"
)

// TestSimulatedPeople checks the ten simulated people +1 650 555-0200..0209 answer texts and
// calls by their last digit, by themselves, and that AutoReply still answers everyone else.
func TestSimulatedPeople(t *testing.T) {
	eachMode(t, Options{AutoReply: true, ReplyDelay: 3 * time.Second}, func(t *testing.T, h *harness) {
		agentID := h.agent(map[string]any{"voiceMode": "hosted", "systemPrompt": "Say hello."})
		numID, _ := h.number(agentID)
		person := func(d int) string { return fmt.Sprintf("+1650555020%d", d) }
		for d := range 10 {
			h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": person(d), "body": "Your cleaning is tomorrow."})
		}
		h.must(200, "POST", "/v1/messages", map[string]any{"agent_id": agentID, "to_number": "+12125550101", "body": "Hello there"})
		h.advance(3 * time.Second)
		page := h.must(200, "GET", "/v1/numbers/"+numID+"/messages?limit=50", nil)
		from := map[string]string{}
		for _, raw := range page["data"].([]any) {
			m := raw.(map[string]any)
			if m["direction"] == "inbound" {
				from[m["from"].(string)] = m["body"].(string)
			}
		}
		for d := range 10 {
			body, replied := from[person(d)]
			switch {
			case d <= 3 && (!replied || body == "STOP"):
				t.Errorf("digit %d: reply %q (%v), want an answer", d, body, replied)
			case d == 4 && body != "STOP":
				t.Errorf("digit 4: reply %q, want STOP", body)
			case d > 4 && replied:
				t.Errorf("digit %d replied %q", d, body)
			}
		}
		if from["+12125550101"] == "" {
			t.Errorf("AutoReply no longer answers other numbers: %v", from)
		}

		call := func(to string) string {
			return h.must(200, "POST", "/v1/calls", map[string]any{"agentId": agentID, "toNumber": to, "systemPrompt": "remind them of the cleaning"})["id"].(string)
		}
		ids := make([]string, 10)
		for d := range 10 {
			ids[d] = call(person(d))
		}
		if now, peak := h.sb.CallsInProgress(); now != 10 || peak != 10 {
			t.Fatalf("calls in progress %d (peak %d), want 10", now, peak)
		}
		h.steps(10, time.Second)
		want := []string{"completed", "completed", "completed", "completed", "completed", "voicemail_reached", "voicemail_reached", "dial_no_answer", "dial_no_answer", "dial_busy"}
		for d, id := range ids {
			got := h.must(200, "GET", "/v1/calls/"+id, nil)
			reason := got["disconnectionReason"].(string)
			if (want[d] == "completed" && reason != "agent_hangup") || (want[d] != "completed" && reason != want[d]) {
				t.Errorf("digit %d: %v %v, want %s", d, got["status"], reason, want[d])
			}
		}
		if now, _ := h.sb.CallsInProgress(); now != 0 {
			t.Fatalf("%d calls still in progress", now)
		}
		// The 7 answers a call an hour after the first unanswered one; the 8 never does.
		h.advance(59 * time.Minute)
		early := call(person(7))
		h.steps(8, time.Second)
		if got := h.must(200, "GET", "/v1/calls/"+early, nil); got["disconnectionReason"] != "dial_no_answer" {
			t.Errorf("digit 7 within the hour: %v", got["disconnectionReason"])
		}
		h.advance(time.Minute)
		seven, eight := call(person(7)), call(person(8))
		h.steps(8, time.Second)
		if got := h.must(200, "GET", "/v1/calls/"+seven, nil); got["disconnectionReason"] != "agent_hangup" || got["status"] != "completed" {
			t.Errorf("digit 7 an hour later: %v %v", got["status"], got["disconnectionReason"])
		}
		if got := h.must(200, "GET", "/v1/calls/"+eight, nil); got["disconnectionReason"] != "dial_no_answer" {
			t.Errorf("digit 8 an hour later: %v", got["disconnectionReason"])
		}
	})
}

// TestConcurrentCallLimit: with Options.ConcurrentCalls, one call too many is refused (409).
func TestConcurrentCallLimit(t *testing.T) {
	eachMode(t, Options{ConcurrentCalls: 2}, func(t *testing.T, h *harness) {
		agentID := callSetup(h, map[string]any{"voiceMode": "hosted", "systemPrompt": "Say hello."})
		for _, to := range []string{"+14155550144", "+14155550145"} {
			h.must(200, "POST", "/v1/calls", map[string]any{"agentId": agentID, "toNumber": to})
		}
		r := h.do("POST", "/v1/calls", map[string]any{"agentId": agentID, "toNumber": "+14155550146"})
		if r.status != 409 {
			t.Fatalf("a third call at once: %d %s", r.status, r.raw)
		}
		h.steps(8, time.Second)
		h.must(200, "POST", "/v1/calls", map[string]any{"agentId": agentID, "toNumber": "+14155550146"})
	})
}
