package text

import (
	"strings"
	"unicode"
)

// IsOptOut reports whether an inbound message revokes consent to be contacted.
//
// It matches, case-insensitively and ignoring surrounding punctuation:
//   - STOP, STOPALL, STOP ALL, UNSUBSCRIBE, OPT OUT, OPTOUT, OPT-OUT, REVOKE as the whole message
//     or its first word(s) ("STOP please", "Unsubscribe me"); "stop by ..." is an invitation,
//     not an opt-out;
//   - CANCEL, END, QUIT, PARA only as the whole message (optionally with "please"), because
//     "cancel my appointment?" or "para mañana" are ordinary requests;
//   - phrases anywhere: "stop texting me", "stop messaging me", "stop calling me",
//     "stop contacting me", "don't text me", "do not contact me", "remove me from your list",
//     "take me off your list", "no more texts", "unsubscribe me", and Spanish "no más".
func IsOptOut(body string) bool {
	words := optOutWords(body)
	if len(words) == 0 {
		return false
	}
	joined := " " + strings.Join(words, " ") + " "
	for _, p := range [...]string{
		"stop texting", "stop messaging", "stop calling me", "stop contacting", "stop sending",
		"quit texting", "quit messaging", "quit calling me", "quit contacting",
		"dont text me", "do not text me", "dont message me", "do not message me",
		"dont contact me", "do not contact me", "dont call me", "do not call me",
		"remove me from your list", "remove me from this list", "remove me from the list",
		"remove me from your mailing list", "take me off your list", "take me off this list",
		"no more texts", "no more messages", "no more text messages", "unsubscribe me",
	} {
		if strings.Contains(joined, " "+p+" ") {
			return true
		}
	}
	first := words[0]
	rest := words[1:]
	if len(rest) > 0 && isPoliteFiller(rest) {
		rest = nil
	}
	switch first {
	case "stop":
		if len(words) > 1 && (words[1] == "by" || words[1] == "over") {
			return false // "stop by tomorrow"
		}
		return true
	case "stopall", "unsubscribe", "optout", "revoke":
		return true
	case "opt":
		return len(words) > 1 && words[1] == "out"
	case "cancel", "end", "quit", "para", "cancelar", "alto":
		return len(rest) == 0
	case "no":
		return len(words) > 1 && (words[1] == "más" || words[1] == "mas")
	}
	return false
}

// isPoliteFiller reports whether words are only courtesy words that do not change a keyword.
func isPoliteFiller(words []string) bool {
	for _, w := range words {
		switch w {
		case "please", "pls", "plz", "now", "thanks", "thank", "you", "thx", "all", "por", "favor":
		default:
			return false
		}
	}
	return true
}

// optOutWords lower-cases body, maps full-width ASCII to ASCII, folds apostrophes and hyphens away ("don't" -> "dont",
// "opt-out" -> "optout"), and splits it into words of letters and digits.
func optOutWords(body string) []string {
	body = strings.ToLower(Sanitize(body, 2000))
	var b strings.Builder
	for _, r := range body {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII ("ＳＴＯＰ")
			r = unicode.ToLower(r - 0xFF01 + '!')
		}
		switch {
		case r == '\'' || r == '’' || r == 'ʼ' || r == '‘' || r == '-' || r == '‐':
			// joins: "don't" -> "dont", "opt-out" -> "optout"
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}
