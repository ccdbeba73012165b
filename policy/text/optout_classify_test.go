package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClassifyOptOut(t *testing.T) {
	t.Parallel()
	const (
		R = OptOutRevoked
		A = OptOutAmbiguous
		N = OptOutNone
	)
	tests := []struct {
		body  string
		class OptOutClass
		scope OptOutScope
	}{
		// The review's examples.
		{"Please stop", R, ScopeAll},
		{"pls stop", R, ScopeAll},
		{"I want to unsubscribe", R, ScopeAll},
		{"ARRÊT", R, ScopeAll},
		{"arret", R, ScopeAll},
		{"remove me", R, ScopeAll},
		{"leave me alone", R, ScopeAll},
		{"Hi! STOP", R, ScopeAll},
		// Look-alike, mathematical, full-width, circled, spaced, dotted, invisible.
		{"ЅТОР", R, ScopeAll},                   // Cyrillic Dze, Te, O, Er
		{"Ѕtор", R, ScopeAll},                   // mixed scripts
		{"𝐒𝐓𝐎𝐏", R, ScopeAll},                   // mathematical bold
		{"𝓈𝓉ℴ𝓅", R, ScopeAll},                   // mathematical script
		{"ＳＴＯＰ", R, ScopeAll},                   // full-width
		{"Ⓢⓣⓞⓟ", R, ScopeAll},                   // circled
		{"🇸🇹🇴🇵", R, ScopeAll},                   // regional indicators
		{"S T O P", R, ScopeAll},                // spaced
		{"s.t.o.p", R, ScopeAll},                // dotted
		{"S-T-O-P please", R, ScopeAll},         // dashed
		{"S\u200bT\u200bO\u200bP", R, ScopeAll}, // zero-width between letters
		{"st0p", R, ScopeAll},                   // digit for letter
		{"$TOP", R, ScopeAll},                   // symbol for letter
		{"stooooop", R, ScopeAll},               // stretched
		{"UNSUBSCR1BE", R, ScopeAll},            //
		{"ᴜɴsᴜʙsᴄʀɪʙᴇ", R, ScopeAll},            // small capitals
		{"Stop\u202e", R, ScopeAll},             // a bidi control after the word
		// The FCC's words and the carriers' keywords.
		{"STOP", R, ScopeAll},
		{"Stop.", R, ScopeAll},
		{"STOP!!!", R, ScopeAll},
		{"quit", R, ScopeAll},
		{"END", R, ScopeAll},
		{"revoke", R, ScopeAll},
		{"Opt out", R, ScopeAll},
		{"opt-out", R, ScopeAll},
		{"OPTOUT", R, ScopeAll},
		{"Cancel", R, ScopeAll},
		{"Unsubscribe", R, ScopeAll},
		{"STOPALL", R, ScopeAll},
		{"stop all", R, ScopeAll},
		{"REMOVE", R, ScopeAll},
		{"TD", R, ScopeAll},
		// Spanish.
		{"BAJA", R, ScopeAll},
		{"ALTO", R, ScopeAll},
		{"Detener", R, ScopeAll},
		{"PARAR", R, ScopeAll},
		{"Cancelar", R, ScopeAll},
		{"no más", R, ScopeAll},
		{"No más mensajes por favor", R, ScopeTexts},
		{"No me llames más", R, ScopeCalls},
		{"no me escriban", R, ScopeTexts},
		{"Dejen de llamarme", R, ScopeCalls},
		{"quiero darme de baja", R, ScopeAll},
		{"Bórrame de la lista", R, ScopeAll},
		{"no quiero recibir más mensajes", R, ScopeTexts},
		// French.
		{"ARRET SVP", R, ScopeAll},
		{"Désabonner", R, ScopeAll},
		{"désabonnez-moi", R, ScopeAll},
		{"Arrêtez de m'appeler", R, ScopeCalls},
		{"ne m'écrivez plus", R, ScopeTexts},
		{"Laissez-moi tranquille", R, ScopeAll},
		{"je veux me désinscrire", R, ScopeAll},
		{"plus de messages svp", R, ScopeTexts},
		{"retirez-moi de votre liste", R, ScopeAll},
		// Phrases, with their channel.
		{"stop calling me", R, ScopeCalls},
		{"Stop calling me... do not call me again", R, ScopeCalls},
		{"Please stop texting me", R, ScopeTexts},
		{"can you stop messaging me?", R, ScopeTexts},
		{"stop contacting me", R, ScopeAll},
		{"Stop sending me these", R, ScopeTexts},
		{"Stop it!", R, ScopeAll},
		{"stop this now", R, ScopeAll},
		{"Stop, wrong number", R, ScopeAll},
		{"I said stop", R, ScopeAll},
		{"lol stop", R, ScopeAll},
		{"STOP please", R, ScopeAll},
		{"Unsubscribe me now", R, ScopeAll},
		{"How do I unsubscribe from this?", R, ScopeAll},
		{"I said don't text me", R, ScopeTexts},
		{"Don’t text me again", R, ScopeTexts},
		{"do not contact me", R, ScopeAll},
		{"Do not call this number", R, ScopeCalls},
		{"never call me again", R, ScopeCalls},
		{"Don't you dare call me again", R, ScopeCalls},
		{"Remove me from your list", R, ScopeAll},
		{"take me off your list thanks", R, ScopeAll},
		{"please take my number off your list", R, ScopeAll},
		{"no more texts", R, ScopeTexts},
		{"no more calls please", R, ScopeCalls},
		{"Quit texting me", R, ScopeTexts},
		{"please unsubscribe me", R, ScopeAll},
		{"Revoke consent", R, ScopeAll},
		{"I revoke my consent to be contacted", R, ScopeAll},
		{"I do not consent to these messages", R, ScopeAll},
		{"I don't want these texts", R, ScopeTexts},
		{"cancel my subscription", R, ScopeAll},
		{"Go away", R, ScopeAll},
		{"fuck off", R, ScopeAll},
		{"Stop fucking texting me", R, ScopeTexts},
		{"lose my number", R, ScopeAll},
		{"Hi there, please stop sending me messages, thank you", R, ScopeTexts},
		{"Stop texting me. And stop calling me.", R, ScopeAll},
		// Ambiguous: flagged.
		{"wrong number", A, ScopeAll},
		{"not interested", A, ScopeAll},
		{"This is spam", A, ScopeAll},
		{"I'll report you", A, ScopeAll},
		{"I never signed up for this", A, ScopeAll},
		{"how did you get my number", A, ScopeAll},
		{"I want to cancel", A, ScopeAll},
		{"Sorry, can't make it. Cancel.", A, ScopeAll},
		{"stop worrying about it", A, ScopeAll},
		{"You won't stop texting me", A, ScopeTexts},
		{"do not call me before noon", A, ScopeCalls},
		{"what happens if I reply stop?", A, ScopeAll},
		{"No me interesa", A, ScopeAll},
		{"mauvais numéro", A, ScopeAll},
		{"l'arrêt du train est à 5h", N, ""},
		{"don't call me on weekends", A, ScopeCalls},
		{"can you stop", R, ScopeAll},
		{"make it stop", R, ScopeAll},
		{"I need to stop at the store", N, ""},
		// Not opt-outs, decided deliberately.
		{"", N, ""},
		{"   ", N, ""},
		{"\u200b\u200b", N, ""},
		{"don't stop believing", N, ""},
		{"Never stop learning!", N, ""},
		{"I'll stop by tomorrow", N, ""},
		{"Stop by tomorrow at 5?", N, ""},
		{"can you stop over on Friday", N, ""},
		{"meet me at the bus stop", N, ""},
		{"full stop.", N, ""},
		{"turn left at the stop sign", N, ""},
		{"arrêt de bus", N, ""},
		{"the end of the road is near", N, ""},
		{"See you at the end", N, ""},
		{"cancel my appointment?", N, ""},
		{"Can I cancel my order", N, ""},
		{"End of day works", N, ""},
		{"quit my job today lol", N, ""},
		{"para mañana está bien", N, ""},
		{"No, thanks, see you at 5", N, ""},
		{"Thanks! See you soon", N, ""},
		{"stopwatch is broken", N, ""},
		{"Backend is down", N, ""},
		{"Yes", N, ""},
		{"I don't want to unsubscribe", N, ""},
		{"Please remove the mushrooms from my order", N, ""},
		{"Call me back when you can", N, ""},
		{"Text me the address", N, ""},
		{"Sue said hi", N, ""},
		{"Is there enough parking?", N, ""},
		{"Oui, à demain", N, ""},
		{"Sí, gracias", N, ""},
	}
	for _, tc := range tests {
		got := ClassifyOptOut(tc.body)
		if got.Class != tc.class || got.Scope != tc.scope {
			t.Errorf("ClassifyOptOut(%q) = %+v, want %s/%s", tc.body, got, tc.class, tc.scope)
		}
		if (got.Class == OptOutNone) != (got.Match == "") {
			t.Errorf("ClassifyOptOut(%q) = %+v: Match must be set exactly when the class is not none", tc.body, got)
		}
		if IsOptOut(tc.body) != (tc.class == OptOutRevoked) {
			t.Errorf("IsOptOut(%q) disagrees with ClassifyOptOut", tc.body)
		}
	}
}

// disguises rewrites a reply the ways the recogniser must see through.
var disguises = map[string]func(string) string{
	"full-width": func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '!' && r <= '~' {
				return r - '!' + 0xFF01
			}
			return r
		}, s)
	},
	"zero-width": func(s string) string {
		var b strings.Builder
		for _, r := range s {
			b.WriteRune(r)
			b.WriteRune('\u200b')
		}
		return b.String()
	},
	"upper": strings.ToUpper,
	"cyrillic": func(s string) string {
		return strings.NewReplacer("o", "о", "p", "р", "e", "е", "a", "а", "c", "с", "O", "О", "P", "Р").Replace(s)
	},
	"bold": func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'A' && r <= 'Z':
				return 0x1D400 + (r - 'A')
			case r >= 'a' && r <= 'z':
				return 0x1D41A + (r - 'a')
			}
			return r
		}, s)
	},
}

// TestClassifyOptOutSeesThroughDisguises checks every revocation of a corpus in every
// disguise: a disguise never turns a revocation into nothing.
func TestClassifyOptOutSeesThroughDisguises(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"STOP", "Please stop", "unsubscribe", "stop calling me", "remove me", "leave me alone",
		"ARRET", "BAJA", "do not text me", "opt out", "Hi! STOP", "no more messages"} {
		for name, f := range disguises {
			d := f(body)
			if got := ClassifyOptOut(d); got.Class != OptOutRevoked {
				t.Errorf("%s(%q) = %q: %+v, want a revocation", name, body, d, got)
			}
		}
	}
}

// FuzzClassifyOptOut checks that the recogniser never panics, is deterministic, bounded in
// what it reports, and that a reply ending in a sentence "STOP" always revokes, whatever comes
// before, in whatever disguise.
func FuzzClassifyOptOut(f *testing.F) {
	for _, s := range []string{"STOP", "stop by", "don't stop", "no más", "S T O P", "ЅТОР", "\u202eSTOP", "wrong number",
		"Stop calling me", "I want to cancel my appointment", "a b c d e f g", "'''''", "...", "st0p st0p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ClassifyOptOut(s)
		if again := ClassifyOptOut(s); again != got {
			t.Fatalf("not deterministic: %+v then %+v", got, again)
		}
		switch got.Class {
		case OptOutNone:
			if got.Scope != "" || got.Match != "" {
				t.Fatalf("none with scope or match: %+v", got)
			}
		case OptOutRevoked, OptOutAmbiguous:
			if got.Scope == "" || got.Match == "" || !utf8.ValidString(got.Match) {
				t.Fatalf("bad verdict %+v", got)
			}
		default:
			t.Fatalf("unknown class %q", got.Class)
		}
		if !utf8.ValidString(s) || strings.ContainsAny(s, "'’`´′‘ʼ") {
			return // a dangling elision may glue the next word; the property is for whole sentences
		}
		for name, d := range disguises {
			reply := d(s + ". STOP")
			if o := ClassifyOptOut(reply); o.Class != OptOutRevoked {
				t.Fatalf("%s: %q ends with the sentence STOP but is %+v", name, reply, o)
			}
		}
	})
}

func BenchmarkClassifyOptOut(b *testing.B) {
	body := strings.Repeat("Thanks for the reminder, see you Tuesday at 3. ", 6) + "Please stop texting me."
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = ClassifyOptOut(body)
	}
}
