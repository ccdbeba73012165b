package text

import (
	"strings"
	"unicode"
)

// Spoken opt-out scopes: what a person asked not to receive on a call. They equal the store's
// channel names.
const (
	SpokenAll  = "all"  // no calls and no texts
	SpokenCall = "call" // no calls
	SpokenSMS  = "sms"  // no texts
)

// spokenCallPhrases ask not to be called (matched on whole words, after normalisation).
var spokenCallPhrases = []string{
	"stop calling", "quit calling", "stop phoning", "stop ringing me", "quit phoning",
	"dont call", "do not call", "dont ever call", "do not ever call", "never call me", "never call this",
	"dont phone", "do not phone", "dont ring me", "do not ring me",
	"no more calls", "no more phone calls", "dont want any more calls", "dont want anymore calls",
	"do not want any more calls", "dont want your calls", "dont want these calls", "dont want this call",
	"take me off your list", "take me off the list", "take me off this list", "take me off your calling list",
	"take me off your call list", "remove me from your list", "remove me from the list", "remove me from this list",
	"remove me from your calling list", "remove my number", "take my number off", "delete my number",
	"lose my number", "do not call list", "donotcall list", "dnc list",
	// Spanish and French (accents kept as spoken-to-text engines write them, and without).
	"no me llame", "no me llames", "no me vuelva a llamar", "no me vuelvas a llamar", "no vuelva a llamar",
	"no vuelvan a llamar", "deje de llamar", "dejen de llamar", "deja de llamar",
	"ne mappelez plus", "ne mappelez pas", "ne me rappelez pas", "ne me rappelez plus",
	"arrêtez de mappeler", "arretez de mappeler", "arrête de mappeler", "arrete de mappeler",
}

// spokenTextPhrases ask not to be texted.
var spokenTextPhrases = []string{
	"dont text", "do not text", "stop texting", "quit texting", "no more texts", "no more text messages",
	"no texts", "no text messages", "dont message me", "do not message me", "stop messaging",
	"dont send me", "do not send me", "stop sending me", "or text", "texts either", "text me either",
	"no me escriba", "no me escribas", "no me mande mensajes", "ne mécrivez plus", "ne mecrivez plus",
}

// spokenAllPhrases ask not to be contacted at all.
var spokenAllPhrases = []string{
	"stop contacting", "dont contact me", "do not contact me", "dont ever contact", "do not ever contact",
	"never contact me", "no more contact", "unsubscribe", "opt out", "optout",
	"no me contacte", "no me contactes", "ne me contactez plus",
}

// callQualifiers after "don't call me" limit the request in time or place ("don't call me
// back", "do not call me before nine"): those are not opt-outs.
var callQualifiers = map[string]bool{
	"back": true, "later": true, "before": true, "after": true, "until": true, "till": true, "til": true,
	"at": true, "on": true, "today": true, "tomorrow": true, "tonight": true, "this": true, "now": true,
	"right": true, "yet": true, "during": true, "in": true, "between": true, "so": true, "that": true,
	"when": true, "while": true, "too": true, "early": true, "late": true, "here": true,
}

// SpokenOptOut reports whether something a person said on a call asks not to be contacted
// again ("stop calling me", "do not call me again", "take me off your list"), and its scope:
// SpokenCall, or SpokenAll when they also said not to text ("don't text me either") or not to
// contact them at all, or SpokenSMS when they asked only not to be texted. "Don't stop
// calling me" and "don't call me back" / "before nine" are not opt-outs.
func SpokenOptOut(utterance string) (scope string, ok bool) {
	words := optOutWords(utterance)
	if len(words) == 0 {
		return "", false
	}
	call := hasPhrase(words, spokenCallPhrases, true)
	sms := hasPhrase(words, spokenTextPhrases, false)
	all := hasPhrase(words, spokenAllPhrases, false)
	switch {
	case all || (call && sms):
		return SpokenAll, true
	case call:
		return SpokenCall, true
	case sms:
		return SpokenSMS, true
	}
	return "", false
}

// hasPhrase reports whether one of phrases occurs in words on word boundaries, not negated
// ("don't stop calling", "never said stop calling"), and, when qualified is set, not limited
// by a qualifier after "call me" ("don't call me back").
func hasPhrase(words, phrases []string, qualified bool) bool {
	for _, p := range phrases {
		pw := strings.Fields(p)
	next:
		for i := 0; i+len(pw) <= len(words); i++ {
			for j, w := range pw {
				if words[i+j] != w {
					continue next
				}
			}
			if negated(words, i) {
				continue
			}
			end := i + len(pw)
			if qualified && strings.HasSuffix(p, "call") || qualified && strings.HasSuffix(p, "phone") {
				// "don't call [me|us|this number] <qualifier>"
				k := end
				if k < len(words) && (words[k] == "me" || words[k] == "us") {
					k++
				}
				if k < len(words) && callQualifiers[words[k]] {
					continue
				}
			}
			return true
		}
	}
	return false
}

// negated reports whether the phrase starting at words[i] is negated by the words before it:
// "don't stop calling", "never said stop calling", "didn't ask you to stop calling".
func negated(words []string, i int) bool {
	if words[i] != "stop" && words[i] != "quit" {
		return false
	}
	for k := max(0, i-4); k < i; k++ {
		switch words[k] {
		case "dont", "not", "never", "didnt", "wont", "no":
			return true
		}
	}
	return false
}

// optOutWords folds what was said (look-alike and full-width letters, compatibility forms,
// invisible characters: Fold) and splits it into lower-case words; apostrophes and hyphens
// join ("don't" -> "dont", "opt-out" -> "optout").
func optOutWords(body string) []string {
	body = strings.ToLower(Fold(Sanitize(body, 2000)))
	var b strings.Builder
	for _, r := range body {
		switch {
		case r == '\'' || r == '’' || r == 'ʼ' || r == '‘' || r == '-' || r == '‐':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}
