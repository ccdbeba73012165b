package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
)

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

type listMessagesArgs struct {
	NumberID string `json:"number_id"`
	cursorArgs
}

func listMessagesTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_messages", title: "List messages", toolset: ToolsetMessages, effect: reads,
		desc: "List a number's texts, newest first.",
	}, func(ctx context.Context, c *call, args listMessagesArgs) *mcp.CallToolResult {
		if msg := requireID("number_id", args.NumberID, "list_numbers"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		p, msg := args.params()
		if msg != "" {
			return invalidArgs(c.tool, msg)
		}
		page, err := d.API.ListNumberMessages(ctx, args.NumberID, apiclient.CursorParams{Limit: p.limit, Before: p.before, After: p.after})
		if err != nil {
			return apiFailure(c.tool, err, "list_numbers")
		}
		l := list{noun: "messages", hasMore: page.HasMore, untrusted: true}
		var oldest time.Time
		var tally optOutTally
		for _, m := range page.Data {
			o := d.observeInbound(ctx, m.Direction, m.From, m.Body, m.ID, m.ReceivedAt.Time)
			tally.add(o)
			flag, mark := optOutMark(o)
			body := untrusted(m.Body, maxBody)
			l.lines = append(l.lines, fmt.Sprintf("%s [%s] %s %s → %s: %q%s", m.ID, when(m.ReceivedAt), m.Direction, m.From, m.To, body, mark))
			item := map[string]any{"id": m.ID, "from": m.From, "to": m.To, "body": body, "direction": m.Direction,
				"channel": m.Channel, "received_at": m.ReceivedAt}
			if flag != nil {
				item["opt_out"] = flag
			}
			l.items = append(l.items, item)
			if oldest.IsZero() || (!m.ReceivedAt.Time.IsZero() && m.ReceivedAt.Time.Before(oldest)) {
				oldest = m.ReceivedAt.Time
			}
		}
		cursorHint(&l, oldest)
		if l.extra == nil {
			l.extra = map[string]any{}
		}
		if n := tally.notices(l.extra); n != "" {
			l.nextHint = strings.TrimSpace(l.nextHint + " " + n)
		}
		return l.result()
	})
}

// cursorHint sets the next-page hint of a time-cursor list: older messages come with
// before set to the oldest time on this page.
func cursorHint(l *list, oldest time.Time) {
	if !l.hasMore || oldest.IsZero() {
		return
	}
	ts := oldest.UTC().Format(time.RFC3339Nano)
	l.nextHint = "More results: call again with before=" + ts + "."
	l.extra = map[string]any{"next_before": ts}
}

var reactions = []string{"love", "like", "dislike", "laugh", "emphasize", "question"}

type reactArgs struct {
	MessageID string `json:"message_id"`
	Reaction  string `json:"reaction" jsonschema:"enum=love,enum=like,enum=dislike,enum=laugh,enum=emphasize,enum=question"`
}

func reactToMessageTool(d *Deps) Tool {
	return define(d, spec{
		name: "react_to_message", title: "React to message", toolset: ToolsetMessages, effect: signals,
		desc: "React to an iMessage.",
	}, func(ctx context.Context, c *call, args reactArgs) *mcp.CallToolResult {
		if msg := requireID("message_id", args.MessageID, "list_messages"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if !contains(reactions, args.Reaction) {
			return invalidArgs(c.tool, "reaction must be one of "+strings.Join(reactions, ", "))
		}
		action := policyAudited(c, map[string]string{"message_id": args.MessageID, "reaction": args.Reaction})
		return d.gate(ctx, c, action, "", func(ctx context.Context) outcome {
			r, err := d.API.React(ctx, args.MessageID, apiclient.ReactionType(args.Reaction))
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "get_conversation"), err: err}
			}
			return outcome{result: okResult(fmt.Sprintf("Reacted %s to message %s (%s).", r.ReactionType, r.MessageID, r.Channel),
				map[string]any{"id": r.ID, "reaction": r.ReactionType, "message_id": r.MessageID, "channel": r.Channel}), apiID: r.ID, apiStatus: "sent"}
		})
	})
}
