package tools

import (
	"context"
	"fmt"
	"time"
)

// InboxSource lists the events the webhook receiver verified and stored, oldest first.
type InboxSource interface {
	RecentEvents(ctx context.Context, limit int) ([]Event, error)
}

// inboxLimit is how many stored events the inbox resource shows.
const inboxLimit = 50

// Inbox is the agentphone://inbox resource as the webhook receiver sees it: the latest
// inbound messages and ended calls, newest first, with third-party text sanitised and
// labelled. Without a receiver it says how to read messages instead.
func (d *Deps) Inbox(ctx context.Context) (any, error) {
	messages, calls := []map[string]any{}, []map[string]any{}
	view := map[string]any{"messages": messages, "ended_calls": calls, "notice": UntrustedNotice}
	if d.Received == nil {
		view["receiver"] = false
		view["hint"] = "No webhook receiver runs (start with --webhook-listen). Use wait_for_reply or list_conversations to read replies."
		return view, nil
	}
	view["receiver"] = true
	events, err := d.Received.RecentEvents(ctx, inboxLimit)
	if err != nil {
		return nil, fmt.Errorf("read the received events: %w", err)
	}
	var tally optOutTally
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		switch e.Kind {
		case EventMessage:
			m := map[string]any{
				"id": e.ID, "conversation_id": e.ConversationID, "agent_id": e.AgentID, "number_id": e.NumberID,
				"from": e.From, "to": e.To, "body": untrusted(e.Body, maxBody), "received_at": e.At.UTC().Format(time.RFC3339),
			}
			switch {
			case e.OptedOut:
				m["opt_out"] = map[string]any{"status": "opted_out"}
				tally.optedOut = true
			case e.PossibleOptOut:
				m["opt_out"] = map[string]any{"status": "possible"}
				tally.possible = true
			}
			messages = append(messages, m)
		case EventCallEnded:
			c := map[string]any{
				"id": e.CallID, "agent_id": e.AgentID, "number_id": e.NumberID, "from": e.From, "to": e.To,
				"ended_at": e.At.UTC().Format(time.RFC3339),
			}
			if e.Body != "" {
				c["summary"] = untrusted(e.Body, maxNotes)
			}
			calls = append(calls, c)
		}
	}
	view["messages"], view["ended_calls"] = messages, calls
	tally.notices(view)
	return view, nil
}
