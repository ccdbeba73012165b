package sandbox

import (
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// world is the simulated outside world, shared by the master account and every sub-account:
// how a destination answers calls, and who uses iMessage.
type world struct {
	mu       sync.Mutex
	outcomes map[string]string // destination E.164 -> forced call status
	imessage map[string]bool   // E.164 -> iMessage capability, overriding IMessagePrefix
	phones   map[string]bool   // every number ever bought, in any account
	// unanswered is when each simulated person (PeoplePrefix) first did not answer.
	unanswered map[string]time.Time
}

func newWorld() *world {
	return &world{outcomes: map[string]string{}, imessage: map[string]bool{}, unanswered: map[string]time.Time{}}
}

// IMessagePrefix marks the sandbox's iMessage users: a phone number whose last seven digits
// start with it (+14155550130 to +14155550139, for example) can receive iMessage; every other
// phone number gets SMS. Every email address is an iMessage user. SetIMessage overrides it.
const IMessagePrefix = "555013"

// SetIMessage makes e164 an iMessage user (true) or SMS-only (false), overriding
// IMessagePrefix.
func (s *Sandbox) SetIMessage(e164 string, imessage bool) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	s.world.imessage[e164] = imessage
}

// usesIMessage reports whether a recipient (E.164 or email) can receive iMessage.
func (s *Sandbox) usesIMessage(recipient string) bool {
	if isEmail(recipient) {
		return true
	}
	s.world.mu.Lock()
	v, found := s.world.imessage[recipient]
	s.world.mu.Unlock()
	if found {
		return v
	}
	digits := strings.TrimPrefix(recipient, "+")
	return len(digits) >= 7 && strings.HasPrefix(digits[len(digits)-7:], IMessagePrefix)
}

func isEmail(s string) bool {
	if !strings.Contains(s, "@") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// SetCallOutcome makes future calls to toE164 end with status instead of being answered by a
// person: "busy", "no-answer", "failed", or "voicemail" (answered by a voicemail greeting; the
// agent leaves its message). "completed" or "" restores the default.
func (s *Sandbox) SetCallOutcome(toE164, status string) error {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	switch status {
	case "busy", "no-answer", "failed", outcomeVoicemail:
		s.world.outcomes[toE164] = status
	case "", "completed":
		delete(s.world.outcomes, toE164)
	default:
		return fmt.Errorf("set call outcome for %s: status %q: use busy, no-answer, failed, voicemail or completed", toE164, status)
	}
	return nil
}

// outcomeFor returns the forced outcome for a destination, or "".
func (s *Sandbox) outcomeFor(to string) string {
	s.world.mu.Lock()
	o, found := s.world.outcomes[to]
	if !found {
		o, found = s.world.personCallOutcome(to, s.clock.Now())
	}
	s.world.mu.Unlock()
	if found {
		return o
	}
	switch {
	case strings.HasSuffix(to, BusySuffix):
		return "busy"
	case strings.HasSuffix(to, NoAnswerSuffix):
		return "no-answer"
	case strings.HasSuffix(to, FailedSuffix):
		return "failed"
	case strings.HasSuffix(to, VoicemailSuffix):
		return outcomeVoicemail
	}
	return ""
}
