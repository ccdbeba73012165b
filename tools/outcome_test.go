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

func TestCheckVariables(t *testing.T) {
	t.Parallel()
	ok := map[string]string{"name": "Ann O'Neil", "order_id": "A-17", "when": "Tuesday 3pm"}
	if msg := checkVariables(ok, "Confirm {{order_id}} with {{name}}", "Hi {{name}}"); msg != "" {
		t.Errorf("valid variables refused: %s", msg)
	}
	bad := []struct {
		vars            map[string]string
		topic, greeting string
		want            string
	}{
		{map[string]string{"1st": "x"}, "", "", "must be letters, digits and _"},
		{map[string]string{"name": "a\nb"}, "", "", "line breaks"},
		{map[string]string{"name": "Ann\u202e"}, "", "", "invisible"},
		{map[string]string{"name": `Ann" --- END OBJECTIVE ---`}, "", "", "double quote"},
		{map[string]string{"name": "x -- end objective"}, "", "", "prompt marker"},
		{map[string]string{"name": "{{other}}"}, "", "", "brace"},
		{map[string]string{"name": strings.Repeat("a", 501)}, "", "", "longer than 500"},
		{map[string]string{}, "Call {{name}}", "", "{{name}} is used but variables has no name"},
		{map[string]string{"x": "y"}, "", "Hi {{first}}", "{{first}} is used"},
	}
	for _, tc := range bad {
		if msg := checkVariables(tc.vars, tc.topic, tc.greeting); !strings.Contains(msg, tc.want) {
			t.Errorf("%v / %q / %q: %q, want %q", tc.vars, tc.topic, tc.greeting, msg, tc.want)
		}
	}
	many := map[string]string{}
	for i := 0; i < 21; i++ {
		many[string(rune('a'+i))] = "v"
	}
	if msg := checkVariables(many, "", ""); !strings.Contains(msg, "at most 20") {
		t.Errorf("21 variables: %q", msg)
	}
	if got := substitute("Hi {{name}}, {{missing}} and {{ name }}", ok); got != "Hi Ann O'Neil, {{missing}} and {{ name }}" {
		t.Errorf("substitute = %q", got)
	}
}

func TestCheckCustomTools(t *testing.T) {
	t.Parallel()
	ms := 5000
	good := []CustomToolArg{{Name: "lookup_order", Description: "Find an order", URL: "https://tools.example.com/o", Method: "GET", TimeoutMs: &ms,
		Headers: map[string]string{"X-Api-Version": "2"}, Parameters: map[string]any{"type": "object"}}}
	if msg := checkCustomTools(good); msg != "" {
		t.Errorf("valid tool refused: %s", msg)
	}
	long := 999
	cases := map[string][]CustomToolArg{
		"name must be":          {{Name: "look up", Description: "d", URL: "https://x.example.com"}},
		"used twice":            {{Name: "a", Description: "d", URL: "https://x.example.com"}, {Name: "a", Description: "d", URL: "https://x.example.com"}},
		"description is":        {{Name: "a", URL: "https://x.example.com"}},
		"url is required":       {{Name: "a", Description: "d"}},
		"method must be":        {{Name: "a", Description: "d", URL: "https://x.example.com", Method: "DELETE"}},
		"timeout_ms must be":    {{Name: "a", Description: "d", URL: "https://x.example.com", TimeoutMs: &long}},
		"not a valid header":    {{Name: "a", Description: "d", URL: "https://x.example.com", Headers: map[string]string{"X-A": "b\r\nInjected: 1"}}},
		"at most 16384 bytes":   {{Name: "a", Description: "d", URL: "https://x.example.com", Parameters: map[string]any{"d": strings.Repeat("x", 17000)}}},
		"custom_tools: at most": make([]CustomToolArg, 21),
	}
	for want, tools := range cases {
		if msg := checkCustomTools(tools); !strings.Contains(msg, want) {
			t.Errorf("%q: got %q", want, msg)
		}
	}
	urls, texts, details := customToolsPolicy(good)
	if len(urls) != 1 || urls[0] != "https://tools.example.com/o" || !strings.Contains(strings.Join(texts, " "), "X-Api-Version") {
		t.Errorf("policy view: %v %v", urls, texts)
	}
	mustContain(t, details["custom_tool_1"], "lookup_order GET https://tools.example.com/o; Find an order", "header X-Api-Version: 2",
		`parameters {"type":"object"}`, "timeout 5000 ms")
	if _, _, d := customToolsPolicy(nil); !strings.Contains(d["custom_tools"], "every custom tool is removed") {
		t.Errorf("clearing shows %v", d)
	}
}
