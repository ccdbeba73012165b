package tools

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/phone"
)

// messageTools is the messages toolset, in tools/list order (reads first). This list is
// the one place a tool's toolset is written.
func messageTools(d *Deps) []Tool {
	return members(ToolsetMessages,
		listMessagesTool(d), waitForReplyTool(d), sendSMSTool(d), reactToMessageTool(d))
}

type sendSMSArgs struct {
	ToNumber          string   `json:"to_number,omitempty"`
	Recipients        []string `json:"recipients,omitempty" jsonschema:"2-8, new group"`
	Body              string   `json:"body"`
	AgentID           string   `json:"agent_id,omitempty"`
	NumberID          string   `json:"number_id,omitempty"`
	FromNumber        string   `json:"from_number,omitempty"`
	MediaURLs         []string `json:"media_urls,omitempty" jsonschema:"https (MMS)"`
	SendStyle         string   `json:"send_style,omitempty" jsonschema:"iMessage effect"`
	ReplyToMessageID  string   `json:"reply_to_message_id,omitempty"`
	ConfirmationToken string   `json:"confirmation_token,omitempty"`
}

// sendStyles are the iMessage effects of send_style (dropped when a message goes as SMS).
var sendStyles = []string{"celebration", "fireworks", "lasers", "love", "confetti", "balloons", "spotlight", "echo",
	"invisible", "gentle", "loud", "slam"}

func sendSMSTool(d *Deps) Tool {
	return define(d, spec{
		name: "send_sms", title: "Send text", effect: reachesOut,
		desc: "Real text: iMessage if they have it, else SMS billed per segment.",
	}, func(ctx context.Context, c *call, args sendSMSArgs) *mcp.CallToolResult {
		group := len(args.Recipients) > 0
		switch {
		case group && strings.TrimSpace(args.ToNumber) != "":
			return invalidArgs(c.tool, "give to_number (one person) or recipients (a new group), not both")
		case group && (len(args.Recipients) < 2 || len(args.Recipients) > policy.MaxGroupRecipients):
			return invalidArgs(c.tool, fmt.Sprintf("recipients must list 2 to %d numbers (E.164) to start a group", policy.MaxGroupRecipients))
		case !group && strings.TrimSpace(args.ToNumber) == "":
			return invalidArgs(c.tool, "to_number is required (or recipients, to start a group)")
		}
		if strings.TrimSpace(args.Body) == "" && len(args.MediaURLs) == 0 {
			return invalidArgs(c.tool, "body is required (the text to send)")
		}
		if args.AgentID == "" && args.NumberID == "" && args.FromNumber == "" {
			return invalidArgs(c.tool, "name the sender with agent_id, number_id or from_number (list_numbers shows yours)")
		}
		if args.SendStyle != "" && !contains(sendStyles, args.SendStyle) {
			return invalidArgs(c.tool, "send_style must be one of "+strings.Join(sendStyles, ", "))
		}
		if id := strings.TrimSpace(args.ReplyToMessageID); args.ReplyToMessageID != "" && (id == "" || strings.ContainsAny(id, " /?#")) {
			return invalidArgs(c.tool, "reply_to_message_id must be a message id such as msg_… (list_messages shows them)")
		}
		for _, u := range args.MediaURLs {
			if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
				return invalidArgs(c.tool, fmt.Sprintf("media_urls entry %q is not a public https URL", truncate(u, 80)))
			}
		}
		from := ""
		if args.FromNumber != "" {
			// The sender is validated like every other number: a "+" is not enough.
			n, err := phone.Normalize(args.FromNumber, d.DefaultRegion)
			if err != nil {
				return invalidArgs(c.tool, fmt.Sprintf("from_number: %s; use one of your numbers (list_numbers)", phoneReason(err)))
			}
			from = n.E164
		}
		details := map[string]string{}
		for k, v := range map[string]string{"agent_id": args.AgentID, "number_id": args.NumberID, "from_number": from} {
			if v != "" {
				details[k] = v
			}
		}
		if len(args.MediaURLs) > 0 {
			details["media"] = strings.Join(args.MediaURLs, " ")
		}
		if args.SendStyle != "" {
			details["imessage_effect"] = args.SendStyle + " (dropped if it goes as SMS)"
		}
		if args.ReplyToMessageID != "" {
			details["reply_to"] = args.ReplyToMessageID
		}
		// Media URLs leave with the message (AgentPhone fetches them), so the secret check reads
		// them too, decoded: a key hidden in a query string is still a key.
		var texts []string
		for _, u := range args.MediaURLs {
			texts = append(texts, u)
			if dec, err := url.QueryUnescape(u); err == nil && dec != u {
				texts = append(texts, dec)
			}
		}
		action := policy.Action{Kind: policy.KindSMS, To: args.ToNumber, Recipients: args.Recipients, Body: args.Body, Texts: texts, Args: canonicalArgs(c), Details: details}
		return d.gate(ctx, c, action, args.ConfirmationToken, func(ctx context.Context) outcome {
			req := apiclient.SendMessageRequest{
				Body: args.Body, AgentID: args.AgentID,
				NumberID: args.NumberID, FromNumber: from, MediaURLs: args.MediaURLs,
				SendStyle: apiclient.SendStyle(args.SendStyle), ReplyToMessageID: args.ReplyToMessageID,
			}
			if group {
				for _, r := range args.Recipients {
					req.Recipients = append(req.Recipients, d.e164(r))
				}
			} else {
				req.ToNumber = d.e164(args.ToNumber)
			}
			sent, err := d.API.SendMessage(ctx, req)
			if err != nil {
				return outcome{result: apiFailure("send_sms", err, "list_numbers"), err: err}
			}
			text, view := sentResult(sent, args.SendStyle)
			if group {
				view["recipients"] = req.Recipients
				text += fmt.Sprintf(" Group of %d: %s.", len(req.Recipients), strings.Join(req.Recipients, ", "))
			}
			return outcome{result: okResult(text, view), apiID: sent.ID, apiStatus: sent.Status}
		})
	})
}

// sentResult renders a sent message: the channel it went on, what happened to the iMessage
// effect, and whether a reply could be threaded (reply_parent_unresolved).
func sentResult(sent *apiclient.SentMessage, style string) (string, map[string]any) {
	view := map[string]any{
		"id": sent.ID, "status": sent.Status, "channel": sent.Channel, "from_number": sent.FromNumber,
		"to_number": sent.ToNumber, "conversation_id": sent.ConversationID,
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Sent %s from %s to %s (%s, %s, conversation %s).", sent.ID, sent.FromNumber, sent.ToNumber, sent.Channel, sent.Status, sent.ConversationID)
	if style != "" {
		applied := sent.Channel == apiclient.ChannelIMessage
		view["send_style"] = style
		view["send_style_applied"] = applied
		if applied {
			fmt.Fprintf(&b, " iMessage effect: %s.", style)
		} else {
			fmt.Fprintf(&b, " The %s effect was dropped: the message went as %s.", style, sent.Channel)
		}
	}
	if sent.ReplyToMessageID != "" {
		view["reply_to_message_id"] = sent.ReplyToMessageID
		view["reply_parent_unresolved"] = sent.ReplyParentUnresolved
		if sent.ReplyParentUnresolved {
			fmt.Fprintf(&b, " The reply could not be threaded under %s, so it was sent as a plain message.", sent.ReplyToMessageID)
		} else {
			fmt.Fprintf(&b, " Threaded as a reply to %s.", sent.ReplyToMessageID)
		}
	}
	return b.String(), view
}

type listMessagesArgs struct {
	NumberID string `json:"number_id"`
	cursorArgs
}

func listMessagesTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_messages", title: "List messages", effect: reads,
		desc: "Newest first.",
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

var reactions = []string{"love", "like", "dislike", "laugh", "emphasize", "question"}

type reactArgs struct {
	MessageID string `json:"message_id"`
	Reaction  string `json:"reaction" jsonschema:"enum=love,enum=like,enum=dislike,enum=laugh,enum=emphasize,enum=question"`
}

func reactToMessageTool(d *Deps) Tool {
	return define(d, spec{
		name: "react_to_message", title: "React to message", effect: signals,
		desc: "iMessage only.",
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

type waitForReplyArgs struct {
	ConversationID string `json:"conversation_id,omitempty"`
	AgentID        string `json:"agent_id,omitempty"`
	NumberID       string `json:"number_id,omitempty"`
	Participant    string `json:"participant,omitempty"`
	Since          string `json:"since,omitempty" jsonschema:"RFC 3339"`
	Cursor         string `json:"cursor,omitempty"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"`
}

func waitForReplyTool(d *Deps) Tool {
	return define(d, spec{
		name: "wait_for_reply", title: "Wait for reply", effect: reads,
		desc: "Next inbound text in a conversation, or from participant (a number).",
	}, func(ctx context.Context, c *call, args waitForReplyArgs) *mcp.CallToolResult {
		target, wait, msg := d.replyTarget(ctx, args)
		if msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if target.numberIDs == nil && target.conversationID == "" {
			return d.resolveSender(ctx, c, target, wait)
		}
		return d.awaitReply(ctx, c, target, wait)
	})
}
