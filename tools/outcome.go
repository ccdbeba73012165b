package tools

import (
	"fmt"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// Call outcomes: how a call ended, in one word the model can branch on. Every call result
// carries one as "outcome" in structuredContent and in its text.
const (
	OutcomeHuman      = "human"       // a person answered and the call ran
	OutcomeVoicemail  = "voicemail"   // a voicemail greeting (or answering machine) took the call
	OutcomeNoAnswer   = "no_answer"   // nobody picked up (or only an automated menu did)
	OutcomeBusy       = "busy"        // the line was busy or the callee declined
	OutcomeFailed     = "failed"      // the call could not be connected or broke down
	OutcomeCanceled   = "canceled"    // this side hung up before anyone answered
	OutcomeInProgress = "in_progress" // the call has not ended yet
)

// callOutcome derives the outcome from the call's status, disconnection reason, answer and
// post-call analysis. The reason (the voice provider's words) wins over a generic status:
// a voicemail greeting leaves the status "completed", for instance.
func callOutcome(c *apiclient.Call) string {
	if !c.Status.Terminal() {
		return OutcomeInProgress
	}
	reason := strings.ToLower(strings.TrimSpace(c.DisconnectionReason))
	inVoicemail := c.Analysis != nil && c.Analysis.InVoicemail != nil && *c.Analysis.InVoicemail
	switch {
	case inVoicemail || reason == "voicemail_reached" || reason == "machine_detected":
		return OutcomeVoicemail
	case c.Status == apiclient.CallBusy || reason == "dial_busy" || reason == "user_declined":
		return OutcomeBusy
	case c.Status == apiclient.CallNoAnswer || reason == "dial_no_answer" || reason == "ivr_reached" || reason == "registered_call_timeout":
		return OutcomeNoAnswer
	case c.Status == apiclient.CallCanceled || c.Status == "cancelled":
		return OutcomeCanceled
	case c.Status == apiclient.CallFailed || failedReason(reason):
		return OutcomeFailed
	}
	if answered(c) {
		return OutcomeHuman
	}
	if reason == "api_hangup" || reason == "call_canceled" {
		return OutcomeCanceled
	}
	return OutcomeNoAnswer
}

// knownOutcome is callOutcome where the call says enough: a call summary in a list has no
// disconnection reason or analysis, so a completed one there may be a person or a voicemail
// greeting, and ok is false (get_transcript reads the call itself).
func knownOutcome(c *apiclient.Call) (outcome string, ok bool) {
	if c.Status == apiclient.CallCompleted && c.DisconnectionReason == "" && c.Analysis == nil {
		return "", false
	}
	return callOutcome(c), true
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
func answered(c *apiclient.Call) bool {
	if c.DurationSeconds != nil && *c.DurationSeconds > 0 {
		return true
	}
	for _, t := range c.Transcripts {
		if strings.TrimSpace(t.Transcript) != "" || (t.Role == apiclient.RoleUser && strings.TrimSpace(t.Content) != "") {
			return true
		}
	}
	return false
}

// outcomeMeaning says an outcome in a few words, for the text.
var outcomeMeaning = map[string]string{
	OutcomeHuman:      "a person answered",
	OutcomeVoicemail:  "voicemail took the call",
	OutcomeNoAnswer:   "nobody answered",
	OutcomeBusy:       "the line was busy or the call was declined",
	OutcomeFailed:     "the call could not be connected or broke down",
	OutcomeCanceled:   "hung up on this side before anyone answered",
	OutcomeInProgress: "the call has not ended yet",
}

// callAnalysis is what the post-call analysis says: summary, sentiment, goal reached.
type callAnalysis struct {
	summary, sentiment string
	successful         *bool
}

func analysisOf(c *apiclient.Call) callAnalysis {
	a := callAnalysis{summary: c.Summary, sentiment: c.UserSentiment, successful: c.CallSuccessful}
	if c.Analysis != nil {
		if a.summary == "" {
			a.summary = c.Analysis.Summary
		}
		if a.sentiment == "" {
			a.sentiment = c.Analysis.UserSentiment
		}
		if a.successful == nil {
			a.successful = c.Analysis.CallSuccessful
		}
	}
	return a
}

// writeOutcome is the one render of a call's outcome: it sets outcome (and, where the API
// gives them, disconnection_reason, summary, sentiment and call_successful) in view and writes
// the matching lines to b. Summary and sentiment are third-party text: sanitised and labelled.
func writeOutcome(view map[string]any, b *strings.Builder, c *apiclient.Call) {
	out := callOutcome(c)
	view["outcome"] = out
	fmt.Fprintf(b, "Outcome: %s (%s", out, outcomeMeaning[out])
	if c.DisconnectionReason != "" {
		reason := untrusted(c.DisconnectionReason, maxSnippet)
		view["disconnection_reason"] = reason
		fmt.Fprintf(b, "; disconnection reason %s", reason)
	}
	b.WriteString(").\n")
	a := analysisOf(c)
	if a.summary != "" {
		view["summary"] = untrusted(a.summary, maxNotes)
		fmt.Fprintf(b, "Summary (third-party data): %q\n", view["summary"])
	}
	if a.sentiment != "" {
		view["sentiment"] = untrusted(a.sentiment, maxSnippet)
		fmt.Fprintf(b, "Sentiment: %s.\n", view["sentiment"])
	}
	if a.successful != nil {
		view["call_successful"] = *a.successful
		fmt.Fprintf(b, "Goal reached (analysis): %s.\n", yesNo(*a.successful))
	}
}
