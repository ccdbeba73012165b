package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// conversationTools is the conversations toolset, in tools/list order (reads first). This list is
// the one place a tool's toolset is written.
func conversationTools(d *Deps) []Tool {
	return members(ToolsetConversations,
		listConversationsTool(d), getConversationTool(d), updateConversationTool(d))
}

// conversationView is a conversation as tools return it; third-party text is sanitised.
func conversationView(cv *apiclient.Conversation) map[string]any {
	v := map[string]any{
		"id": cv.ID, "phone_number_id": cv.PhoneNumberID, "phone_number": cv.PhoneNumber,
		"participant": untrusted(cv.Participant, maxName), "message_count": cv.MessageCount,
		"last_message_at": cv.LastMessageAt, "created_at": cv.CreatedAt,
	}
	if cv.AgentID != "" {
		v["agent_id"] = cv.AgentID
	}
	if cv.IsGroup {
		v["is_group"] = true
		v["group_name"] = untrusted(cv.GroupName, maxName)
		parts := make([]string, 0, len(cv.Participants))
		for _, p := range cv.Participants {
			parts = append(parts, untrusted(p.Identifier, maxName))
		}
		v["participants"] = parts
	}
	if cv.LastMessagePreview != "" {
		v["preview"] = untrusted(cv.LastMessagePreview, maxSnippet)
	}
	if cv.Metadata != nil {
		v["metadata"] = sanitizeValue(cv.Metadata, 0)
	}
	return v
}

func conversationLine(cv *apiclient.Conversation) string {
	line := fmt.Sprintf("%s %s ↔ %s, %d messages, last %s", cv.ID, untrusted(cv.Participant, maxName), cv.PhoneNumber, cv.MessageCount, when(cv.LastMessageAt))
	if cv.LastMessagePreview != "" {
		line += fmt.Sprintf(": %q", untrusted(cv.LastMessagePreview, 80))
	}
	return line
}

// messageView is one conversation message; the body is sanitised.
func messageView(m *apiclient.ConversationMessage) map[string]any {
	v := map[string]any{"id": m.ID, "body": untrusted(m.Body, maxBody), "from": m.FromNumber, "to": m.ToNumber,
		"direction": m.Direction, "channel": m.Channel, "received_at": m.ReceivedAt}
	if len(m.MediaURLs) > 0 {
		v["media_urls"] = m.MediaURLs
	} else if m.MediaURL != "" {
		v["media_urls"] = []string{m.MediaURL}
	}
	if len(m.Reactions) > 0 {
		rs := make([]string, 0, len(m.Reactions))
		for _, r := range m.Reactions {
			rs = append(rs, string(r.ReactionType))
		}
		v["reactions"] = rs
	}
	if m.ReplyTo != nil {
		v["reply_to"] = m.ReplyTo.MessageID
	}
	return v
}

func messageLine(m *apiclient.ConversationMessage) string {
	media := ""
	if len(m.MediaURLs) > 0 || m.MediaURL != "" {
		media = " [media]"
	}
	return fmt.Sprintf("%s [%s] %s %s: %q%s", m.ID, when(m.ReceivedAt), m.Direction, m.FromNumber, untrusted(m.Body, maxBody), media)
}

type listConversationsArgs struct {
	AgentID string `json:"agent_id,omitempty"`
	pageArgs
}

func listConversationsTool(d *Deps) Tool {
	return define(d, spec{
		name: "list_conversations", title: "List conversations", effect: reads,
		desc: "Latest first.",
	}, func(ctx context.Context, c *call, args listConversationsArgs) *mcp.CallToolResult {
		if msg := args.check(); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		lp := apiclient.ListParams{Limit: args.Limit, Offset: args.Offset}
		var (
			page *apiclient.Page[apiclient.Conversation]
			err  error
		)
		if args.AgentID != "" {
			page, err = d.API.ListAgentConversations(ctx, args.AgentID, lp)
		} else {
			page, err = d.API.ListConversations(ctx, lp)
		}
		if err != nil {
			return apiFailure(c.tool, err, "list_agents")
		}
		l := list{noun: "conversations", hasMore: page.HasMore || morePages(page.Total, args.Offset, len(page.Data)), offset: args.Offset, untrusted: true}
		for i := range page.Data {
			l.lines = append(l.lines, conversationLine(&page.Data[i]))
			l.items = append(l.items, conversationView(&page.Data[i]))
		}
		return l.result()
	})
}

type getConversationArgs struct {
	ConversationID string `json:"conversation_id"`
	cursorArgs
}

func getConversationTool(d *Deps) Tool {
	return define(d, spec{
		name: "get_conversation", title: "Get conversation", effect: reads,
		desc: "Metadata and messages, newest first.",
	}, func(ctx context.Context, c *call, args getConversationArgs) *mcp.CallToolResult {
		if msg := requireID("conversation_id", args.ConversationID, "list_conversations"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		p, msg := args.params()
		if msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if p.before.IsZero() && p.after.IsZero() {
			if p.limit > maxPage {
				return invalidArgs(c.tool, fmt.Sprintf("limit must be between 1 and %d without before or after", maxPage))
			}
			view, text, err := d.conversation(ctx, args.ConversationID, p.limit)
			if err != nil {
				return apiFailure(c.tool, err, "list_conversations")
			}
			return okResult(text, view)
		}
		return d.conversationPage(ctx, c, args.ConversationID, p)
	})
}

// conversationPage is one time-cursor page of a conversation's messages.
func (d *Deps) conversationPage(ctx context.Context, c *call, id string, p cursorParams) *mcp.CallToolResult {
	page, err := d.API.ListConversationMessages(ctx, id, apiclient.CursorParams{Limit: p.limit, Before: p.before, After: p.after})
	if err != nil {
		return apiFailure(c.tool, err, "list_conversations")
	}
	l := list{noun: "messages", hasMore: page.HasMore, untrusted: true}
	var oldest time.Time
	var tally optOutTally
	for i := range page.Data {
		m := &page.Data[i]
		o := d.observeInbound(ctx, m.Direction, m.FromNumber, m.Body, m.ID, m.ReceivedAt.Time)
		tally.add(o)
		flag, mark := optOutMark(o)
		l.lines = append(l.lines, messageLine(m)+mark)
		v := messageView(m)
		if flag != nil {
			v["opt_out"] = flag
		}
		l.items = append(l.items, v)
		if oldest.IsZero() || (!m.ReceivedAt.Time.IsZero() && m.ReceivedAt.Time.Before(oldest)) {
			oldest = m.ReceivedAt.Time
		}
	}
	cursorHint(&l, oldest)
	if l.extra == nil {
		l.extra = map[string]any{}
	}
	l.extra["id"] = id
	if n := tally.notices(l.extra); n != "" {
		l.nextHint = strings.TrimSpace(l.nextHint + " " + n)
	}
	return l.result()
}

// conversation reads a conversation with up to limit messages (0: the API's default), checks
// its inbound messages for opt-outs, and renders it.
func (d *Deps) conversation(ctx context.Context, id string, limit int) (map[string]any, string, error) {
	cv, err := d.API.GetConversation(ctx, id, apiclient.GetConversationParams{MessageLimit: limit})
	if err != nil {
		return nil, "", err
	}
	view := conversationView(cv)
	msgs := make([]map[string]any, 0, len(cv.Messages))
	var b strings.Builder
	fmt.Fprintf(&b, "Conversation %s\n", conversationLine(cv))
	if cv.Metadata != nil {
		meta, _ := json.Marshal(view["metadata"])
		fmt.Fprintf(&b, "Metadata: %s\n", truncate(string(meta), maxNotes))
	}
	var tally optOutTally
	for i := range cv.Messages {
		m := &cv.Messages[i]
		o := d.observeInbound(ctx, m.Direction, m.FromNumber, m.Body, m.ID, m.ReceivedAt.Time)
		tally.add(o)
		flag, mark := optOutMark(o)
		mv := messageView(m)
		if flag != nil {
			mv["opt_out"] = flag
		}
		msgs = append(msgs, mv)
		fmt.Fprintf(&b, "  %s%s\n", messageLine(m), mark)
	}
	view["messages"] = msgs
	if n := tally.notices(view); n != "" {
		fmt.Fprintf(&b, "%s\n", n)
	}
	if cv.MessageCount > len(cv.Messages) && len(cv.Messages) > 0 {
		oldest := cv.Messages[len(cv.Messages)-1].ReceivedAt.Time
		for _, m := range cv.Messages {
			if !m.ReceivedAt.Time.IsZero() && m.ReceivedAt.Time.Before(oldest) {
				oldest = m.ReceivedAt.Time
			}
		}
		if !oldest.IsZero() {
			ts := oldest.UTC().Format(time.RFC3339Nano)
			view["next_before"] = ts
			view[nextStepKey] = fmt.Sprintf("Older messages: call again with before=%s.", ts)
			fmt.Fprintf(&b, "%s\n", view[nextStepKey])
		}
	}
	view["notice"] = UntrustedNotice
	b.WriteString(UntrustedNotice)
	return view, b.String(), nil
}

type updateConversationArgs struct {
	ConversationID string          `json:"conversation_id"`
	Metadata       *map[string]any `json:"metadata"`
}

func updateConversationTool(d *Deps) Tool {
	return define(d, spec{
		name: "update_conversation", title: "Update conversation", effect: replaces,
		desc: "Replaces its metadata; {} clears it.",
	}, func(ctx context.Context, c *call, args updateConversationArgs) *mcp.CallToolResult {
		if msg := requireID("conversation_id", args.ConversationID, "list_conversations"); msg != "" {
			return invalidArgs(c.tool, msg)
		}
		if _, ok := c.req.GetArguments()["metadata"]; !ok {
			return invalidArgs(c.tool, "metadata is required: an object to store, or {} to clear")
		}
		req := apiclient.UpdateConversationRequest{SetMetadata: true}
		var texts []string
		if args.Metadata != nil && len(*args.Metadata) > 0 {
			req.Metadata = *args.Metadata
			if raw, err := json.Marshal(req.Metadata); err == nil {
				texts = append(texts, string(raw))
			}
		}
		action := policyAudited(c, map[string]string{"conversation_id": args.ConversationID})
		action.Texts = texts
		return d.gate(ctx, c, action, "", func(ctx context.Context) outcome {
			cv, err := d.API.UpdateConversation(ctx, args.ConversationID, req)
			if err != nil {
				return outcome{result: apiFailure(c.tool, err, "list_conversations"), err: err}
			}
			text := fmt.Sprintf("Cleared the metadata of conversation %s.", cv.ID)
			if req.Metadata != nil {
				text = fmt.Sprintf("Set the metadata of conversation %s (%d keys).", cv.ID, len(req.Metadata))
			}
			view := conversationView(cv)
			if cv.Metadata == nil {
				view["metadata"] = nil
			}
			return outcome{result: okResult(text, view), apiID: cv.ID, apiStatus: "updated"}
		})
	})
}
