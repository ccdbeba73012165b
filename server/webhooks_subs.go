package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// subscribers remembers which sessions subscribed to which resources. mcp-go v1.2.1 accepts
// resources/subscribe but tracks nothing itself, so the server records subscriptions with
// hooks and sends notifications/resources/updated to exactly those sessions. Each
// subscription is recorded with the account of the request that made it (in caller mode the
// caller's; "" is the operator's), and a change of one account notifies its sessions only.
type subscribers struct {
	mu      sync.Mutex
	subs    map[string]map[string]bool // session id -> subscribed URIs
	account map[string]string          // session id -> account of its subscriptions
}

func newSubscribers() *subscribers {
	return &subscribers{subs: map[string]map[string]bool{}, account: map[string]string{}}
}

// accountOf is the account a request acts for: the verified caller's, else "".
func accountOf(ctx context.Context) string {
	if ref := callerFrom(ctx); ref != nil {
		return ref.id
	}
	return ""
}

// hooks records subscribe/unsubscribe requests and forgets sessions that end.
func (s *subscribers) hooks() *mcpserver.Hooks {
	h := &mcpserver.Hooks{}
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		if sess := mcpserver.ClientSessionFromContext(ctx); sess != nil {
			s.mu.Lock()
			id, acct := sess.SessionID(), accountOf(ctx)
			if s.subs[id] == nil || s.account[id] != acct {
				// A session is bound to one credential, so its account never changes; should it,
				// the old account's subscriptions are dropped, never carried over.
				s.subs[id] = map[string]bool{}
				s.account[id] = acct
			}
			s.subs[id][req.Params.URI] = true
			s.mu.Unlock()
		}
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if sess := mcpserver.ClientSessionFromContext(ctx); sess != nil {
			s.mu.Lock()
			delete(s.subs[sess.SessionID()], req.Params.URI)
			s.mu.Unlock()
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, sess mcpserver.ClientSession) {
		s.mu.Lock()
		delete(s.subs, sess.SessionID())
		delete(s.account, sess.SessionID())
		s.mu.Unlock()
	})
	return h
}

// sessionsFor lists the sessions of account subscribed to uri.
func (s *subscribers) sessionsFor(account, uri string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, uris := range s.subs {
		if uris[uri] && s.account[id] == account {
			out = append(out, id)
		}
	}
	return out
}

// notifyUpdated sends notifications/resources/updated for uri to every subscribed session of
// the operator's account (the webhook receiver, campaigns and other replicas' inbound events
// are the operator's; caller mode runs none of them).
func (a *App) notifyUpdated(uri string) { a.notifyUpdatedFor("", uri) }

// notifyUpdatedFor sends notifications/resources/updated for uri to the subscribed sessions
// of account only.
func (a *App) notifyUpdatedFor(account, uri string) {
	for _, id := range a.subs.sessionsFor(account, uri) {
		err := a.mcp.SendNotificationToSpecificClient(id, string(mcp.MethodNotificationResourceUpdated), map[string]any{"uri": uri})
		if err != nil {
			a.logger.Debug("resource update notification not sent", "session", id, "uri", uri, "err", err)
		}
	}
}

// receivedEvents serves the inbox from the events the receiver stored.
type receivedEvents struct {
	st store.Store
	// hide drops stored events about the operator's phone: another process sharing the state
	// dir without the operator phone set (or an older version) may have stored some.
	hide *operatorHider
}

// RecentEvents returns up to limit stored events, oldest first.
func (r receivedEvents) RecentEvents(ctx context.Context, limit int) ([]tools.Event, error) {
	ins, err := r.st.RecentInbound(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]tools.Event, 0, len(ins))
	for _, in := range ins {
		if r.hide != nil && r.hide.mentionsOperator(in.Payload) {
			continue
		}
		var e storedEvent
		if err := json.Unmarshal(in.Payload, &e); err != nil {
			return nil, fmt.Errorf("decode stored inbound event %d: %w", in.Seq, err)
		}
		out = append(out, e.event())
	}
	return out, nil
}

// storedEvent is the JSON form of a tools.Event in the store.
type storedEvent struct {
	Kind           tools.EventKind `json:"kind"`
	ID             string          `json:"id"`
	ConversationID string          `json:"conversation_id,omitempty"`
	CallID         string          `json:"call_id,omitempty"`
	AgentID        string          `json:"agent_id,omitempty"`
	NumberID       string          `json:"number_id,omitempty"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	Body           string          `json:"body,omitempty"`
	At             time.Time       `json:"at"`
	OptedOut       bool            `json:"opted_out,omitempty"`
	PossibleOptOut bool            `json:"possible_opt_out,omitempty"`
}

func storeForm(e tools.Event) storedEvent {
	return storedEvent{Kind: e.Kind, ID: e.ID, ConversationID: e.ConversationID, CallID: e.CallID, AgentID: e.AgentID,
		NumberID: e.NumberID, From: e.From, To: e.To, Body: e.Body, At: e.At, OptedOut: e.OptedOut, PossibleOptOut: e.PossibleOptOut}
}

func (s storedEvent) event() tools.Event {
	return tools.Event{Kind: s.Kind, ID: s.ID, ConversationID: s.ConversationID, CallID: s.CallID, AgentID: s.AgentID,
		NumberID: s.NumberID, From: s.From, To: s.To, Body: s.Body, At: s.At, OptedOut: s.OptedOut, PossibleOptOut: s.PossibleOptOut}
}
