package sandbox

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRequestBodies sends arbitrary bodies to the JSON-parsing routes: the sandbox must never
// answer 5xx or panic, and every answer must be JSON.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{`{"name":"a"}`, `{"agent_id":"x","to_number":"+1","body":""}`, `[]`, `null`,
		`{"url":"https://x","contextLimit":1e309}`, `{"maxSilenceMs":1.5,"name":"x"}`, `{"customTools":[1,{}]}`, "\xff"} {
		f.Add(seed)
	}
	routes := []string{"/v1/agents", "/v1/messages", "/v1/webhooks", "/v1/calls", "/v1/contacts", "/v1/numbers",
		"/v1/register", "/sandbox/inbound/sms"}
	f.Fuzz(func(t *testing.T, body string) {
		sb := New(Options{})
		defer sb.Close()
		for _, route := range routes {
			req := httptest.NewRequest("POST", route, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer k")
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s answered %d to %q: %s", route, rec.Code, body, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("%s answered content type %q", route, ct)
			}
		}
	})
}

// FuzzVoiceReply parses arbitrary webhook answers to voice turns.
func FuzzVoiceReply(f *testing.F) {
	f.Add("application/json", `{"text":"hi","hangup":true}`)
	f.Add("application/x-ndjson", "{\"text\":\"a\",\"interim\":true}\n{\"text\":\"b\"}\n")
	f.Add("application/x-ndjson", "nope\n{\"action\":\"transfer\"}")
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := parseVoiceReply(ct, []byte(body))
		if r.text != strings.TrimSpace(r.text) {
			t.Fatalf("untrimmed text %q", r.text)
		}
	})
}

// FuzzExtractTopic bounds whatever prompt comes in.
func FuzzExtractTopic(f *testing.F) {
	f.Add("--- CALL OBJECTIVE (x) ---\nBook a table\n--- END OBJECTIVE ---")
	f.Add("--- CALL OBJECTIVE")
	f.Add("")
	f.Fuzz(func(t *testing.T, prompt string) {
		topic := extractTopic(prompt)
		if topic == "" || utf8.RuneCountInString(topic) > maxTopicRunes+1 {
			t.Fatalf("topic %q from %q", topic, prompt)
		}
		if utf8.ValidString(prompt) && !utf8.ValidString(topic) {
			t.Fatalf("topic broke UTF-8: %q", topic)
		}
	})
}

func TestExtractTopic(t *testing.T) {
	cases := []struct{ prompt, want string }{
		{objectivePrompt, "Confirm the dentist appointment for Tuesday at 3pm"},
		{"Ask about   the\nrefund.", "Ask about the refund"},
		{"--- CALL OBJECTIVE --- only start", "only start"},
		{"", "a quick matter"},
		{strings.Repeat("word ", 100), strings.TrimSpace(strings.Repeat("word ", 32)) + "…"},
	}
	for _, c := range cases {
		if got := extractTopic(c.prompt); got != c.want {
			t.Errorf("extractTopic(%q) = %q, want %q", c.prompt, got, c.want)
		}
	}
}
