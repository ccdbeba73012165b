package sandbox

import (
	"strings"
	"time"
)

// PeoplePrefix marks the sandbox's simulated people: a phone number whose last seven digits
// start with it (+16505550200 to +16505550299, in any area code) answers texts and calls by
// itself, decided by its last digit, so a campaign can be tried end to end with nobody
// injecting anything:
//
//	last digit  a text                            a call
//	0-3         a reply after ReplyDelay          a person answers (a short talk on the topic)
//	4           "STOP" after ReplyDelay           a person answers
//	5-6         no reply                          voicemail (the agent leaves a message)
//	7           no reply                          no answer; a call at least an hour after the
//	                                              first unanswered one is answered by a person
//	8           no reply                          no answer, ever
//	9           no reply                          busy
//
// A ten-person list +1 NPA 555-0200..0209 therefore sees four replies, one STOP, two
// voicemails, one no-answer that a retry an hour later reaches, one no-answer and one busy.
// SetCallOutcome and SetCalleeLines still override a number's calls.
const PeoplePrefix = "55502"

// personDigit is the last digit of a simulated person's number, or -1 for anyone else.
func personDigit(e164 string) int {
	digits := strings.TrimPrefix(e164, "+")
	if len(digits) < 7 || !strings.HasPrefix(digits[len(digits)-7:], PeoplePrefix) {
		return -1
	}
	d := digits[len(digits)-1]
	if d < '0' || d > '9' {
		return -1
	}
	return int(d - '0')
}

// personReplies are the words of the simulated people who answer a text (digits 0-3).
var personReplies = []string{
	"Thanks, see you then!",
	"Got it, thank you.",
	"Can we move it to the afternoon?",
	"Yes, confirmed.",
}

// personReply is what a simulated person texts back to a message, and whether they do.
func personReply(to string) (string, bool) {
	switch d := personDigit(to); {
	case d < 0:
		return "", false
	case d < len(personReplies):
		return personReplies[d], true
	case d == 4:
		return "STOP", true
	}
	return "", false
}

// retryAnswersAfter is how long after an unanswered call a "digit 7" person picks up.
const retryAnswersAfter = time.Hour

// personCallOutcome is the forced status of a call to a simulated person now ("" for a
// person who answers), and whether to is one. Caller holds s.world.mu.
func (w *world) personCallOutcome(to string, now time.Time) (string, bool) {
	switch d := personDigit(to); {
	case d < 0:
		return "", false
	case d <= 4:
		return "", true
	case d <= 6:
		return outcomeVoicemail, true
	case d == 7:
		first, seen := w.unanswered[to]
		if seen && now.Sub(first) >= retryAnswersAfter {
			return "", true
		}
		if !seen {
			w.unanswered[to] = now
		}
		return "no-answer", true
	case d == 8:
		return "no-answer", true
	}
	return "busy", true
}

// CallsInProgress returns how many outbound calls of this account ring or talk now, and the
// most that ever did at once (a campaign's concurrency limit is checked against it).
func (s *Sandbox) CallsInProgress() (now, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.outActive, s.st.outPeak
}
