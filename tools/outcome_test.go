package tools

import (
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

func TestCallOutcome(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	secs := func(n int) *int { return &n }
	talk := []apiclient.TranscriptTurn{{Transcript: "Hello?"}}
	cases := []struct {
		name string
		call apiclient.Call
		want string
	}{
		{"ringing", apiclient.Call{Status: apiclient.CallRinging}, OutcomeInProgress},
		{"in progress", apiclient.Call{Status: apiclient.CallInProgress, DurationSeconds: secs(5)}, OutcomeInProgress},
		{"answered", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(40), DisconnectionReason: "user_hangup"}, OutcomeHuman},
		{"answered, only speech", apiclient.Call{Status: apiclient.CallCompleted, Transcripts: talk}, OutcomeHuman},
		{"answered, stream roles", apiclient.Call{Status: apiclient.CallCompleted, Transcripts: []apiclient.TranscriptTurn{{Role: apiclient.RoleUser, Content: "Hi"}}}, OutcomeHuman},
		{"voicemail by reason", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(30), DisconnectionReason: "voicemail_reached"}, OutcomeVoicemail},
		{"voicemail by analysis", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(30), Analysis: &apiclient.CallAnalysis{InVoicemail: &yes}}, OutcomeVoicemail},
		{"machine detected", apiclient.Call{Status: apiclient.CallCompleted, DisconnectionReason: "machine_detected"}, OutcomeVoicemail},
		{"analysis says no voicemail", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(9), Analysis: &apiclient.CallAnalysis{InVoicemail: &no}}, OutcomeHuman},
		{"busy status", apiclient.Call{Status: apiclient.CallBusy}, OutcomeBusy},
		{"busy reason", apiclient.Call{Status: "ended", DisconnectionReason: "dial_busy"}, OutcomeBusy},
		{"declined", apiclient.Call{Status: "ended", DisconnectionReason: "user_declined"}, OutcomeBusy},
		{"no answer status", apiclient.Call{Status: apiclient.CallNoAnswer}, OutcomeNoAnswer},
		{"no answer reason", apiclient.Call{Status: "not_connected", DisconnectionReason: "dial_no_answer"}, OutcomeNoAnswer},
		{"an automated menu", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(12), DisconnectionReason: "ivr_reached"}, OutcomeNoAnswer},
		{"failed status", apiclient.Call{Status: apiclient.CallFailed}, OutcomeFailed},
		{"failed reason", apiclient.Call{Status: "ended", DisconnectionReason: "dial_failed"}, OutcomeFailed},
		{"provider error", apiclient.Call{Status: apiclient.CallCompleted, DisconnectionReason: "error_llm_websocket_open"}, OutcomeFailed},
		{"telephony", apiclient.Call{Status: "ended", DisconnectionReason: "telephony_provider_unavailable"}, OutcomeFailed},
		{"canceled status", apiclient.Call{Status: apiclient.CallCanceled, DisconnectionReason: "api_hangup"}, OutcomeCanceled},
		{"cancelled spelling", apiclient.Call{Status: "cancelled"}, OutcomeCanceled},
		{"hung up here before an answer", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(0), DisconnectionReason: "api_hangup"}, OutcomeCanceled},
		{"hung up here after an answer", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(20), DisconnectionReason: "api_hangup"}, OutcomeHuman},
		{"ended with no sign of an answer", apiclient.Call{Status: apiclient.CallCompleted, DurationSeconds: secs(0)}, OutcomeNoAnswer},
	}
	for _, tc := range cases {
		if got := callOutcome(&tc.call); got != tc.want {
			t.Errorf("%s: outcome %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWriteOutcome(t *testing.T) {
	t.Parallel()
	no := false
	c := &apiclient.Call{Status: apiclient.CallCompleted, DisconnectionReason: "voicemail_reached",
		Analysis: &apiclient.CallAnalysis{Summary: "Left a message.\u202e", UserSentiment: "Neutral", CallSuccessful: &no}}
	view := map[string]any{}
	var b strings.Builder
	writeOutcome(view, &b, c)
	text := b.String()
	mustContain(t, text, "Outcome: voicemail (voicemail took the call; disconnection reason voicemail_reached)",
		`Summary (third-party data): "Left a message."`, "Sentiment: Neutral.", "Goal reached (analysis): no.")
	if view["outcome"] != OutcomeVoicemail || view["summary"] != "Left a message." || view["sentiment"] != "Neutral" || view["call_successful"] != false {
		t.Errorf("view = %v", view)
	}
}
