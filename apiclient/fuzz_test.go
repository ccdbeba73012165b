package apiclient

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseErrorBody(f *testing.F) {
	for _, name := range []string{"error_validation.json", "error_envelope.json", "error_detail_string.json"} {
		f.Add(500, fixture(f, name))
	}
	f.Add(429, []byte(`{"detail":[{"loc":[1,{"a":2}],"msg":3}]}`))
	f.Add(502, []byte("<html>"))
	f.Add(400, []byte(`{"error":null,"detail":null,"message":7}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		code, typ, msg, details := ParseErrorBody(status, body)
		if len(msg) > 1100 {
			t.Errorf("message not bounded: %d", len(msg))
		}
		if len(details) > 20 {
			t.Errorf("details not bounded: %d", len(details))
		}
		if utf8.Valid(body) && !utf8.ValidString(msg) {
			t.Errorf("valid UTF-8 body produced invalid message %q", msg)
		}
		e := &Error{Status: status, Code: code, Type: typ, Message: msg, Details: details, Method: "GET", Path: "/v1/x"}
		if !strings.Contains(e.Error(), "GET /v1/x") {
			t.Errorf("Error() lacks the request: %q", e.Error())
		}
	})
}

func FuzzParseWebhookEvent(f *testing.F) {
	for _, name := range []string{"event_sms.json", "event_voice.json", "event_call_ended.json", "event_reaction.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"event":"agent.message","channel":"voice","data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseWebhookEvent(body)
		if err != nil {
			if ev != nil {
				t.Errorf("event and error both set")
			}
			return
		}
		set := 0
		for _, p := range []bool{ev.Message != nil, ev.Voice != nil, ev.CallEnded != nil, ev.Reaction != nil} {
			if p {
				set++
			}
		}
		if set > 1 {
			t.Errorf("%d variants set", set)
		}
		if ev.Event == "" {
			t.Errorf("accepted an event without a name")
		}
	})
}

func FuzzParseSSE(f *testing.F) {
	f.Add(fixture(f, "transcript_stream.sse"))
	f.Add([]byte("event: turn\ndata: {}\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for ev, err := range ParseSSE(strings.NewReader(string(in))) {
			if err != nil {
				return
			}
			if ev.Type == StreamTurn && ev.Turn == nil {
				t.Errorf("turn event without payload")
			}
		}
	})
}
