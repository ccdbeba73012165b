package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/mark3labs/mcp-go/mcp"
)

// Opt-out observation: every inbound text and every call transcript a tool reads is handed to
// the policy engine, and results say what it found.

// observeInbound hands every inbound message read to the policy engine, so a STOP-style
// reply puts its sender on the suppression list, and a reply that may be one is flagged, even
// when no webhook delivered it. It returns what was found (zero for outbound messages).
func (d *Deps) observeInbound(ctx context.Context, dir apiclient.Direction, from, body, id string, at time.Time) policy.Observation {
	if dir != apiclient.DirectionInbound || from == "" {
		return policy.Observation{}
	}
	o, err := d.Policy.ObserveInbound(ctx, policy.Inbound{From: from, Text: body, ID: id, At: at})
	if err != nil {
		d.logger().Warn("checking an inbound message for an opt-out failed", "err", err)
	}
	return o
}

// Opt-out marks on an inbound message in a read result.
const (
	optOutNotice      = "A sender opted out (STOP or similar): they are on the suppression list; do not text or call them again."
	possibleOptOutMsg = "A reply may be an opt-out (flagged for the operator): do not contact that sender again until a person has read it."
)

// optOutMark is the structured flag and the line suffix for what ObserveInbound found in one
// message; nil and "" when it found nothing.
func optOutMark(o policy.Observation) (map[string]any, string) {
	switch {
	case o.OptedOut:
		return map[string]any{"status": "opted_out", "scope": o.OptOut.Scope, "match": untrusted(o.OptOut.Match, maxSnippet)},
			" [OPTED OUT: the sender is on the suppression list]"
	case o.Flagged:
		return map[string]any{"status": "possible", "scope": o.OptOut.Scope, "match": untrusted(o.OptOut.Match, maxSnippet)},
			" [POSSIBLE OPT-OUT: flagged for the operator; do not contact this sender until a person has read it]"
	}
	return nil, ""
}

// optOutTally collects the marks of a read result, for its notices.
type optOutTally struct{ optedOut, possible bool }

func (t *optOutTally) add(o policy.Observation) {
	t.optedOut = t.optedOut || o.OptedOut
	t.possible = t.possible || o.Flagged
}

// notices returns the result-level notices, and sets them in data.
func (t optOutTally) notices(data map[string]any) string {
	var parts []string
	if t.optedOut {
		parts = append(parts, optOutNotice)
	}
	if t.possible {
		parts = append(parts, possibleOptOutMsg)
	}
	if len(parts) == 0 {
		return ""
	}
	n := strings.Join(parts, " ")
	data["opt_out_notice"] = n
	// The notice tells the model what not to do: it is the result's next step too.
	if prev, _ := data[nextStepKey].(string); prev != "" {
		n = prev + " " + n
	}
	data[nextStepKey] = n
	return strings.Join(parts, " ")
}

// CallParty is the other side of a call: the callee of an outbound call, the caller of an
// inbound one.
func CallParty(c *apiclient.Call) string {
	if c.Direction == apiclient.DirectionInbound {
		return c.FromNumber
	}
	return c.ToNumber
}

// CallerTurns returns what the other party said on a call, turn by turn (raw, for the
// policy's opt-out check; never shown without sanitising).
func CallerTurns(in []apiclient.TranscriptTurn) []string { return apiclient.CallerTurns(in) }

// observeCall checks the caller turns of a call that ended (or is still going on when a wait
// gives up) for a spoken do-not-call request, reading the full transcript when the call object
// holds only part of it, and returns a note for the model when the other party opted out, or "".
func (d *Deps) observeCall(ctx context.Context, c *apiclient.Call) string {
	if c == nil || (!c.Status.Terminal() && c.Status != apiclient.CallInProgress) {
		return ""
	}
	turns := c.Transcripts
	if tr, err := d.API.GetTranscript(ctx, c.ID); err == nil && len(tr.Turns) > 0 {
		turns = tr.Turns
	}
	ch, err := d.Policy.ObserveCall(ctx, CallParty(c), c.ID, CallerTurns(turns), c.EndedAt.Time)
	if err != nil {
		d.logger().Warn("checking a call for a spoken opt-out failed", "call", c.ID, "err", err)
		return ""
	}
	return optOutNote(CallParty(c), ch)
}

// optOutNote tells the model what a recorded opt-out means.
func optOutNote(party, channel string) string {
	switch channel {
	case "":
		return ""
	case policy.OptOutCall:
		return fmt.Sprintf("%s asked not to be called again: calls to them are now refused [opted_out].", party)
	case policy.OptOutSMS:
		return fmt.Sprintf("%s asked not to be texted again: texts to them are now refused [opted_out].", party)
	}
	return fmt.Sprintf("%s asked not to be contacted again: calls and texts to them are now refused [opted_out].", party)
}

// withOptOutNote adds an opt-out note to a call result.
func withOptOutNote(res *mcp.CallToolResult, note string) *mcp.CallToolResult {
	if note == "" || res == nil {
		return res
	}
	if m, ok := res.StructuredContent.(map[string]any); ok {
		m["opted_out"] = note
	}
	res.Content = append(res.Content, mcp.NewTextContent(note))
	return res
}
