package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// Bounds of the pre-send read of a recipient's replies (policy.RepliesReader).
const (
	// repliesBound is the most one check may take; past it the send is refused (fail closed).
	repliesBound = 5 * time.Second
	// repliesTTL is how long one answer is reused (a preview and its confirmation, a burst):
	// a reply that arrives within it is seen on the next check after it.
	repliesTTL = 5 * time.Second
	// repliesConvPages bounds the conversation scan (100 a page, latest activity first). A
	// reply moves its conversation to the top, so a STOP is among the latest unless this many
	// conversations had activity since; older ones were checked when they were read.
	repliesConvPages = 20
	// repliesMessages is how many of a conversation's latest messages are read.
	repliesMessages = 30
	// repliesCalls is how many of the recipient's latest calls are read.
	repliesCalls = 5
	// maxCachedTranscripts bounds the caller turns kept for finished calls.
	maxCachedTranscripts = 1024
)

// repliesReader answers the policy's "what did this recipient say lately?" from the account:
// the inbound texts of their conversations and the caller turns of their latest finished
// calls, read through the API (the operator filter applies) within repliesBound, cached for
// repliesTTL. A failed or timed-out read is an error, and the policy refuses the send.
type repliesReader struct {
	api   *apiclient.Client
	clock clockwork.Clock
	log   interface {
		Warn(msg string, args ...any)
	}

	mu     sync.Mutex
	recent map[string]cachedReplies // e164 -> last answer
	turns  map[string][]string      // finished call id -> caller turns (final)
}

type cachedReplies struct {
	at      time.Time
	replies []policy.Reply
}

func newRepliesReader(api *apiclient.Client, clock clockwork.Clock, log interface{ Warn(string, ...any) }) *repliesReader {
	return &repliesReader{api: api, clock: clock, log: log, recent: map[string]cachedReplies{}, turns: map[string][]string{}}
}

// LatestReplies implements policy.RepliesReader.
func (r *repliesReader) LatestReplies(ctx context.Context, e164 string) ([]policy.Reply, error) {
	now := r.clock.Now()
	r.mu.Lock()
	c, ok := r.recent[e164]
	r.mu.Unlock()
	if ok && now.Sub(c.at) < repliesTTL {
		return c.replies, nil
	}
	ctx, cancel := clockTimeout(ctx, r.clock, repliesBound)
	defer cancel()
	texts, err := r.texts(ctx, e164)
	if err == nil {
		var calls []policy.Reply
		calls, err = r.calls(ctx, e164)
		texts = append(texts, calls...)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer from the API within %s", repliesBound)
		}
		return nil, err
	}
	r.mu.Lock()
	if len(r.recent) > 4096 {
		clear(r.recent)
	}
	r.recent[e164] = cachedReplies{at: now, replies: texts}
	r.mu.Unlock()
	return texts, nil
}

// texts returns the inbound texts of every conversation with e164 (1:1, or a group it is in).
func (r *repliesReader) texts(ctx context.Context, e164 string) ([]policy.Reply, error) {
	var out []policy.Reply
	offset := 0
	for page := 0; page < repliesConvPages; page++ {
		p, err := r.api.ListConversations(ctx, apiclient.ListParams{Limit: 100, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		for _, cv := range p.Data {
			if !withParticipant(cv, e164) {
				continue
			}
			msgs, err := r.api.ListConversationMessages(ctx, cv.ID, apiclient.CursorParams{Limit: repliesMessages})
			if err != nil {
				return nil, fmt.Errorf("read conversation %s: %w", cv.ID, err)
			}
			for _, m := range msgs.Data {
				if m.Direction == apiclient.DirectionInbound && (m.FromNumber == e164 || (!cv.IsGroup && m.FromNumber == "")) {
					out = append(out, policy.Reply{Channel: store.ChannelSMS, Text: m.Body, At: m.ReceivedAt.Time, Ref: m.ID})
				}
			}
		}
		offset += len(p.Data)
		if !p.HasMore || len(p.Data) == 0 {
			return out, nil
		}
	}
	r.log.Warn("opt-out check read only the latest conversations", "pages", repliesConvPages)
	return out, nil
}

func withParticipant(cv apiclient.Conversation, e164 string) bool {
	if cv.Participant == e164 {
		return true
	}
	for _, p := range cv.Participants {
		if p.Identifier == e164 {
			return true
		}
	}
	return false
}

// calls returns the caller turns of e164's latest finished calls (either direction).
func (r *repliesReader) calls(ctx context.Context, e164 string) ([]policy.Reply, error) {
	p, err := r.api.ListCalls(ctx, apiclient.ListCallsParams{Search: e164, Limit: repliesCalls})
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	var out []policy.Reply
	for i := range p.Data {
		c := &p.Data[i]
		if tools.CallParty(c) != e164 || !c.Status.Terminal() {
			continue
		}
		turns, err := r.callerTurns(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		at := c.EndedAt.Time
		for _, t := range turns {
			out = append(out, policy.Reply{Channel: store.ChannelCall, Text: t, At: at, Ref: c.ID})
		}
	}
	return out, nil
}

// callerTurns reads a finished call's transcript once and keeps its caller turns.
func (r *repliesReader) callerTurns(ctx context.Context, callID string) ([]string, error) {
	r.mu.Lock()
	t, ok := r.turns[callID]
	r.mu.Unlock()
	if ok {
		return t, nil
	}
	tr, err := r.api.GetTranscript(ctx, callID)
	if err != nil {
		return nil, fmt.Errorf("read the transcript of %s: %w", callID, err)
	}
	t = tools.CallerTurns(tr.Turns)
	r.mu.Lock()
	if len(r.turns) >= maxCachedTranscripts {
		clear(r.turns)
	}
	r.turns[callID] = t
	r.mu.Unlock()
	return t, nil
}

// clockTimeout is context.WithTimeout on clock, so a fake clock drives the bound in tests.
func clockTimeout(ctx context.Context, clock clockwork.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	timer := clock.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() {
		timer.Stop()
		cancel(context.Canceled)
	}
}
