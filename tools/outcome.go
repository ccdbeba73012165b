package tools

import (
	"fmt"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// Call outcomes: how a call ended, in one word the model can branch on. Every call result
// carries one as "outcome" in structuredContent and in its text. The rule lives in
// apiclient.CallOutcome (the campaign runner shares it).
const (
	OutcomeHuman      = apiclient.CallOutcomeHuman
	OutcomeVoicemail  = apiclient.CallOutcomeVoicemail
	OutcomeNoAnswer   = apiclient.CallOutcomeNoAnswer
	OutcomeBusy       = apiclient.CallOutcomeBusy
	OutcomeFailed     = apiclient.CallOutcomeFailed
	OutcomeCanceled   = apiclient.CallOutcomeCanceled
	OutcomeInProgress = apiclient.CallOutcomeInProgress
)

// callOutcome is apiclient.CallOutcome.
func callOutcome(c *apiclient.Call) string { return apiclient.CallOutcome(c) }

// knownOutcome is callOutcome where the call says enough: a call summary in a list has no
// disconnection reason or analysis, so a completed one there may be a person or a voicemail
// greeting, and ok is false (get_transcript reads the call itself).
func knownOutcome(c *apiclient.Call) (outcome string, ok bool) {
	if c.Status == apiclient.CallCompleted && c.DisconnectionReason == "" && c.Analysis == nil {
		return "", false
	}
	return callOutcome(c), true
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
