package text

import "testing"

func TestSpokenOptOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		said  string
		scope string // "" = not an opt-out
	}{
		{"Stop calling me.", ScopeCall},
		{"Please stop calling me... do not call me again.", ScopeCall},
		{"Do not call me again", ScopeCall},
		{"DON'T call me anymore", ScopeCall},
		{"don’t call me", ScopeCall},
		{"Take me off your list.", ScopeCall},
		{"Remove me from your calling list please", ScopeCall},
		{"Put me on your do not call list", ScopeCall},
		{"Put me on your do-not-call list", ScopeCall},
		{"I don't want any more calls", ScopeCall},
		{"Never call this number again", ScopeCall},
		{"Lose my number", ScopeCall},
		{"No me llame más, por favor", ScopeCall},
		{"Ne m'appelez plus", ScopeCall},
		{"Arrêtez de m'appeler", ScopeCall},
		{"Stop calling me and don't text me either", ScopeAll},
		{"Don't call or text me", ScopeAll},
		{"Stop contacting me", ScopeAll},
		{"Unsubscribe me from everything", ScopeAll},
		{"Stop texting me", ScopeSMS},
		{"No more texts please", ScopeSMS},
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
