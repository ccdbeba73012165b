package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// observeInbound hands every inbound message read to the policy engine, so a STOP-style
// reply puts its sender on the suppression list even when no webhook delivered it.
func (d *Deps) observeInbound(ctx context.Context, dir apiclient.Direction, from, body string, at time.Time) {
	if dir != apiclient.DirectionInbound || from == "" {
		return
	}
	if _, err := d.Policy.ObserveInbound(ctx, from, body, at); err != nil {
		d.logger().Warn("checking an inbound message for an opt-out failed", "err", err)
	}
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
		for _, m := range page.Data {
			d.observeInbound(ctx, m.Direction, m.From, m.Body, m.ReceivedAt.Time)
			body := untrusted(m.Body, maxBody)
			l.lines = append(l.lines, fmt.Sprintf("%s [%s] %s %s → %s: %q", m.ID, when(m.ReceivedAt), m.Direction, m.From, m.To, body))
			l.items = append(l.items, map[string]any{"id": m.ID, "from": m.From, "to": m.To, "body": body, "direction": m.Direction,
				"channel": m.Channel, "received_at": m.ReceivedAt})
			if oldest.IsZero() || (!m.ReceivedAt.Time.IsZero() && m.ReceivedAt.Time.Before(oldest)) {
				oldest = m.ReceivedAt.Time
			}
		}
		cursorHint(&l, oldest)
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
