package text

import "testing"

func TestIsOptOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want bool
	}{
		// carrier keywords, whole message
		{"STOP", true},
		{"stop", true},
		{"  Stop.  ", true},
		{"STOP!!!", true},
		{"STOPALL", true},
		{"STOP ALL", true},
		{"UNSUBSCRIBE", true},
		{"Cancel", true},
		{"END", true},
		{"quit", true},
		{"REVOKE", true},
		{"OPT OUT", true},
		{"OPTOUT", true},
		{"opt-out", true},
		{"Para", true},
		{"no más", true},
		{"No mas", true},
		{"\u200BSTOP", true},
		{"ＳＴＯＰ", true}, // full-width letters
		// keyword at the start
		{"STOP please", true},
		{"Stop sending me these", true},
		{"stop, wrong number", true},
		{"Unsubscribe me now", true},
		{"opt out please", true},
		{"Revoke consent", true},
		{"END please", true},
		{"no más mensajes", true},
		// phrases anywhere
		{"Please stop texting me", true},
		{"can you stop messaging me?", true},
		{"Stop calling me", true},
		{"I said don't text me", true},
		{"Don’t text me again", true},
		{"do not contact me", true},
		{"Remove me from your list", true},
		{"take me off your list thanks", true},
		{"no more texts", true},
		{"Quit texting me", true},
		{"please unsubscribe me", true},
		// not opt-outs
		{"", false},
		{"   ", false},
		{"don't stop believing", false},
		{"I'll stop by tomorrow", false},
		{"Stop by tomorrow at 5?", false},
		{"the end of the road is near", false},
		{"cancel my appointment?", false},
		{"Can I cancel my order", false},
		{"End of day works", false},
		{"quit my job today lol", false},
		{"para mañana está bien", false},
		{"No, thanks, see you at 5", false},
		{"Thanks! See you soon", false},
		{"stopwatch is broken", false},
		{"Backend is down", false},
		{"Yes", false},
	}
	for _, tc := range tests {
		if got := IsOptOut(tc.body); got != tc.want {
			t.Errorf("IsOptOut(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}
