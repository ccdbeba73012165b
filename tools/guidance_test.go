package tools

import "testing"

// TestGuidanceInTheAnswer: what the descriptions no longer say (ranges, the values of rarely
// used enums, the keys of object arguments) reaches the model in the answer to a wrong call,
// with every valid value, and nothing is done.
func TestGuidanceInTheAnswer(t *testing.T) {
	env := newToolEnv(t)
	a, n := env.seed("Guide")
	for _, tt := range []struct {
		tool string
		args map[string]any
		want []string
	}{
		{"send_sms", map[string]any{"to_number": "+14155550123", "body": "hi", "number_id": n.ID, "send_style": "sparkles"},
			[]string{"send_style must be one of", "celebration", "confetti", "slam"}},
		{"list_calls", map[string]any{"status": "in_progress"},
			[]string{"ringing", "in-progress", "completed", "failed", "busy", "no-answer"}},
		{"wait_for_call", map[string]any{"call_id": "call_x", "timeout_seconds": 900}, []string{"between 1 and 600"}},
		{"make_call", map[string]any{"agent_id": a.ID, "to_number": "+14155550123", "wait": true, "max_wait_seconds": 5},
			[]string{"between 10 and 600"}},
		{"wait_for_reply", map[string]any{"number_id": n.ID, "participant": "+14155550123", "timeout_seconds": 301},
			[]string{"between 1 and 300"}},
		{"set_webhook", map[string]any{"url": "https://hooks.example.com/in", "context_limit": 51}, []string{"between 0 and 50"}},
		{"set_webhook", map[string]any{"url": "https://hooks.example.com/in", "timeout": 2}, []string{"between 5 and 120 seconds"}},
		{"make_call", map[string]any{"agent_id": a.ID, "to_number": "+14155550123", "topic": "hi {{name}}", "variables": map[string]any{"name": 5}},
			[]string{`each value of argument "variables" must be a string, not number`}},
		{"buy_number", map[string]any{"area_code": "41"}, []string{"must be 3 digits"}},
		{"create_agent", map[string]any{"name": "X", "tuning": map[string]any{"speed": 1.1}},
			[]string{`unknown key "speed" in tuning`, "voice_speed", "interruption_sensitivity", "enable_backchannel",
				"enable_messaging", "stt_mode", "ambient_sound", "denoising_mode", "max_silence_ms"}},
	} {
		text, data := env.fails(tt.tool, tt.args)
		mustContain(t, text, tt.want...)
		if data["status"] != "invalid_arguments" {
			t.Errorf("%s %v: status %v, want invalid_arguments", tt.tool, tt.args, data["status"])
		}
	}
}
