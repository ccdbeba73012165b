package apiclient

import "strings"

// Call outcomes: how a call ended, in one word a model (or a campaign's report) can branch
// on. The tools and the campaign runner derive them with CallOutcome, the one home of the rule.
const (
	CallOutcomeHuman      = "human"       // a person answered and the call ran
	CallOutcomeVoicemail  = "voicemail"   // a voicemail greeting (or answering machine) took the call
	CallOutcomeNoAnswer   = "no_answer"   // nobody picked up (or only an automated menu did)
	CallOutcomeBusy       = "busy"        // the line was busy or the callee declined
	CallOutcomeFailed     = "failed"      // the call could not be connected or broke down
	CallOutcomeCanceled   = "canceled"    // this side hung up before anyone answered
	CallOutcomeInProgress = "in_progress" // the call has not ended yet
)

// CallOutcome derives the outcome from the call's status, disconnection reason, answer and
// post-call analysis. The reason (the voice provider's words) wins over a generic status:
// a voicemail greeting leaves the status "completed", for instance.
func CallOutcome(c *Call) string {
	if !c.Status.Terminal() {
		return CallOutcomeInProgress
	}
	reason := strings.ToLower(strings.TrimSpace(c.DisconnectionReason))
	inVoicemail := c.Analysis != nil && c.Analysis.InVoicemail != nil && *c.Analysis.InVoicemail
	switch {
	case inVoicemail || reason == "voicemail_reached" || reason == "machine_detected":
		return CallOutcomeVoicemail
	case c.Status == CallBusy || reason == "dial_busy" || reason == "user_declined":
		return CallOutcomeBusy
	case c.Status == CallNoAnswer || reason == "dial_no_answer" || reason == "ivr_reached" || reason == "registered_call_timeout":
		return CallOutcomeNoAnswer
	case c.Status == CallCanceled || c.Status == "cancelled":
		return CallOutcomeCanceled
	case c.Status == CallFailed || failedReason(reason):
		return CallOutcomeFailed
	}
	if answered(c) {
		return CallOutcomeHuman
	}
	if reason == "api_hangup" || reason == "call_canceled" {
		return CallOutcomeCanceled
	}
	return CallOutcomeNoAnswer
}

// CallSummary is the provider's summary of an ended call (top level, else the analysis's),
// third-party text: sanitise before showing it.
func CallSummary(c *Call) string {
	if c.Summary != "" || c.Analysis == nil {
		return c.Summary
	}
	return c.Analysis.Summary
}

// failedReason reports disconnection reasons meaning the call never connected or broke down.
func failedReason(r string) bool {
	switch r {
	case "dial_failed", "invalid_destination", "marked_as_spam", "sip_routing_error", "concurrency_limit_reached",
		"no_valid_payment", "scam_detected", "no_webhook_configured":
		return true
	}
	return strings.HasPrefix(r, "error") || strings.HasPrefix(r, "telephony_provider")
}

// answered reports whether anyone was on the line: talk time, or the other party speaking.
func answered(c *Call) bool {
	if c.DurationSeconds != nil && *c.DurationSeconds > 0 {
		return true
	}
	for _, t := range c.Transcripts {
		if strings.TrimSpace(t.Transcript) != "" || (t.Role == RoleUser && strings.TrimSpace(t.Content) != "") {
			return true
		}
	}
	return false
}

// CallerTurns returns what the other party said on a call, turn by turn (raw, for the
// policy's opt-out check; never shown without sanitising).
func CallerTurns(in []TranscriptTurn) []string {
	var out []string
	for _, t := range in {
		switch {
		case t.Content != "":
			if t.Role != RoleAgent {
				out = append(out, t.Content)
			}
		case strings.TrimSpace(t.Transcript) != "":
			out = append(out, t.Transcript)
		}
	}
	return out
}
