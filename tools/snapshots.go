package tools

import (
	"context"
	"fmt"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// Bounds on what a resource snapshot reads, so a large account cannot make one resource read
// unbounded.
const (
	maxSnapshotItems = 500
	inboxItems       = 20
)

// AccountOverview is the account resource: the account in use, quota, 30-day usage, agents, numbers and the
// webhook's URL and status (never its secret). A failed section is reported inside the view
// under "errors"; the read fails only when every section failed.
func (d *Deps) AccountOverview(ctx context.Context) (any, error) {
	view, _, allFailed := d.overview(ctx)
	if allFailed {
		errs, _ := view["errors"].(map[string]string)
		return nil, fmt.Errorf("account overview: every request failed (usage: %s)", errs["usage"])
	}
	return view, nil
}

// AgentsSnapshot is the agents resource: every agent (up to 500) with its numbers.
func (d *Deps) AgentsSnapshot(ctx context.Context) (any, error) {
	items := []map[string]any{}
	for a, err := range apiclient.Paginate(ctx, maxPage, d.API.ListAgents) {
		if err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		items = append(items, agentView(&a))
		if len(items) >= maxSnapshotItems {
			break
		}
	}
	return map[string]any{"agents": items, "count": len(items)}, nil
}

// NumbersSnapshot is the numbers resource: every active number (up to 500).
func (d *Deps) NumbersSnapshot(ctx context.Context) (any, error) {
	items := []map[string]any{}
	for n, err := range apiclient.Paginate(ctx, maxPage, d.API.ListNumbers) {
		if err != nil {
			return nil, fmt.Errorf("list numbers: %w", err)
		}
		items = append(items, numberView(&n))
		if len(items) >= maxSnapshotItems {
			break
		}
	}
	return map[string]any{"numbers": items, "count": len(items)}, nil
}

// InboxSnapshot is the inbox resource: the most recently active conversations and the latest
// inbound calls, read from the API (so it is complete even when no webhook reaches this
// server).
func (d *Deps) InboxSnapshot(ctx context.Context) (any, error) {
	convs, err := d.API.ListConversations(ctx, apiclient.ListParams{Limit: inboxItems})
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	cv := make([]map[string]any, 0, len(convs.Data))
	for i := range convs.Data {
		cv = append(cv, conversationView(&convs.Data[i]))
	}
	calls, err := d.API.ListCalls(ctx, apiclient.ListCallsParams{Limit: inboxItems, Direction: apiclient.DirectionInbound})
	if err != nil {
		return nil, fmt.Errorf("list inbound calls: %w", err)
	}
	cl := make([]map[string]any, 0, len(calls.Data))
	for i := range calls.Data {
		v := callView(&calls.Data[i])
		if s := calls.Data[i].LastTranscriptSnippet; s != "" {
			v["last_snippet"] = untrusted(s, maxSnippet)
		}
		cl = append(cl, v)
	}
	return map[string]any{"conversations": cv, "inbound_calls": cl, "notice": UntrustedNotice}, nil
}

// CallSnapshot is the call resource: a call with its transcript and recording URL.
func (d *Deps) CallSnapshot(ctx context.Context, id string) (any, error) {
	cl, err := d.API.GetCall(ctx, id, apiclient.GetCallParams{})
	if err != nil {
		return nil, fmt.Errorf("get call %s: %w", id, err)
	}
	view, _ := d.callDetails(cl)
	return view, nil
}

// ConversationSnapshot is the conversation resource: a conversation with its recent messages.
// Inbound opt-outs in it are recorded, as for the conversation tools.
func (d *Deps) ConversationSnapshot(ctx context.Context, id string) (any, error) {
	view, _, err := d.conversation(ctx, id, 0)
	if err != nil {
		return nil, fmt.Errorf("get conversation %s: %w", id, err)
	}
	return view, nil
}
