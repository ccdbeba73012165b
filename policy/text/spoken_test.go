package text

import "testing"

func TestSpokenOptOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		said  string
		scope string // "" = not an opt-out
	}{
		{"Stop calling me.", SpokenCall},
		{"Please stop calling me... do not call me again.", SpokenCall},
		{"Do not call me again", SpokenCall},
		{"DON'T call me anymore", SpokenCall},
		{"don’t call me", SpokenCall},
		{"Take me off your list.", SpokenCall},
		{"Remove me from your calling list please", SpokenCall},
		{"Put me on your do not call list", SpokenCall},
		{"Put me on your do-not-call list", SpokenCall},
		{"I don't want any more calls", SpokenCall},
		{"Never call this number again", SpokenCall},
		{"Lose my number", SpokenCall},
		{"No me llame más, por favor", SpokenCall},
		{"Ne m'appelez plus", SpokenCall},
		{"Arrêtez de m'appeler", SpokenCall},
		{"Stop calling me and don't text me either", SpokenAll},
		{"Don't call or text me", SpokenAll},
		{"Stop contacting me", SpokenAll},
		{"Unsubscribe me from everything", SpokenAll},
		{"Stop texting me", SpokenSMS},
		{"No more texts please", SpokenSMS},
		// not opt-outs
		{"Don't call me back, I'll call you.", ""},
		{"Do not call me before nine", ""},
		{"Don't call me at work", ""},
		{"Please don't stop calling me, I like the reminders", ""},
		{"I never said stop calling", ""},
		{"Call me tomorrow", ""},
		{"Yes, that works for me.", ""},
		{"Stop by the office", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := SpokenOptOut(tt.said)
		if ok != (tt.scope != "") || got != tt.scope {
			t.Errorf("SpokenOptOut(%q) = %q, %v; want %q", tt.said, got, ok, tt.scope)
		}
	}
}

func FuzzSpokenOptOut(f *testing.F) {
	for _, s := range []string{"stop calling me", "don't call me back", "ne m'appelez plus", "\u200bstop"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scope, ok := SpokenOptOut(s)
		if ok != (scope != "") {
			t.Fatalf("SpokenOptOut(%q) = %q, %v", s, scope, ok)
		}
	})
}
