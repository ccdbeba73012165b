package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// Bounds of the pre-send read of a recipient's replies (policy.RepliesReader).
const (
	// repliesBound is the most one check may take; past it the send is refused (fail closed).
	repliesBound = 5 * time.Second
	// repliesConvPages bounds the conversation scan (100 a page, latest activity first). A
	// reply moves its conversation to the top, so a STOP is among the latest unless this many
	// conversations had activity since; older ones were checked when they were read.
	repliesConvPages = 20
	// repliesMessages is how many of a conversation's latest messages are read.
	repliesMessages = 30
	// repliesCalls is how many of the recipient's latest calls are read.
	repliesCalls = 5
	// maxCached bounds each cache (conversations, finished calls).
	maxCached = 1024
)

// repliesReader answers the policy's "what did this recipient say lately?" from the account:
// the inbound texts of their conversations and the caller turns of their latest finished
// calls, read through the API (the operator filter applies) within repliesBound. A failed or
// timed-out read is an error, and the policy refuses the send.
//
// Every check lists the conversations and the recipient's calls afresh (one request each for
// most accounts), so a reply is never hidden by a cache; what is cached is only what cannot
// have changed: a conversation's messages while its last-message time and count stay the same,
// and the caller turns of a finished call.
type repliesReader struct {
	api *apiclient.Client
	// bound is repliesBound; a field so a test can shorten it. It is real time, not the
	// injected clock: it bounds network latency, which a fake clock does not measure.
	bound time.Duration
	log   interface {
		Warn(msg string, args ...any)
	}

	mu    sync.Mutex
	convs map[string][]policy.Reply // conversation id|last message time|count -> its inbound texts
	turns map[string][]string       // finished call id -> caller turns (final)

	// The conversation listing is shared by the checks waiting for it: a check joins the
	// next listing to start (never one already running, which could predate a reply the
	// check must see), so 50 concurrent sends cost one listing per round, not 50.
	lmu     sync.Mutex
	next    *convListing // the listing the next checks will get; nil: none queued
	listing bool         // a listing is running
}

// convListing is one scan of the account's conversations, shared by every check that
// asked for it before it started.
type convListing struct {
	done    chan struct{}
	convs   []apiclient.Conversation
	err     error
	waiters int // checks waiting for it (tests)
}

func newRepliesReader(api *apiclient.Client, log interface{ Warn(string, ...any) }) *repliesReader {
	return &repliesReader{api: api, bound: repliesBound, log: log, convs: map[string][]policy.Reply{}, turns: map[string][]string{}}
}

// LatestReplies implements policy.RepliesReader.
func (r *repliesReader) LatestReplies(ctx context.Context, e164 string) ([]policy.Reply, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.bound, errRepliesTimeout)
	defer cancel()
	texts, err := r.texts(ctx, e164)
	if err == nil {
		var calls []policy.Reply
		calls, err = r.calls(ctx, e164)
		texts = append(texts, calls...)
	}
	if err != nil {
		if errors.Is(context.Cause(ctx), errRepliesTimeout) {
			return nil, fmt.Errorf("no answer from the API within %s", r.bound)
		}
		return nil, err
	}
	return texts, nil
}

// texts returns the inbound texts of every conversation with e164 (1:1, or a group it is in).
func (r *repliesReader) texts(ctx context.Context, e164 string) ([]policy.Reply, error) {
	convs, err := r.conversations(ctx)
	if err != nil {
		return nil, err
	}
	var out []policy.Reply
	for _, cv := range convs {
		if !withParticipant(cv, e164) {
			continue
		}
		got, err := r.conversationReplies(ctx, cv, e164)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// conversations returns the account's conversations from a listing that started after
// this call did: it joins the queued listing, or queues one, and waits for it (or ctx).
func (r *repliesReader) conversations(ctx context.Context) ([]apiclient.Conversation, error) {
	r.lmu.Lock()
	l := r.next
	if l == nil {
		l = &convListing{done: make(chan struct{})}
		r.next = l
	}
	l.waiters++
	if !r.listing {
		r.listing = true
		go r.runListings()
	}
	r.lmu.Unlock()
	select {
	case <-l.done:
		return l.convs, l.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// runListings runs the queued listings one after the other until none is queued.
func (r *repliesReader) runListings() {
	for {
		r.lmu.Lock()
		l := r.next
		if l == nil {
			r.listing = false
			r.lmu.Unlock()
			return
		}
		r.next = nil
		r.lmu.Unlock()
		// Its own bound: the checks waiting for it each stop at theirs.
		ctx, cancel := context.WithTimeoutCause(context.Background(), r.bound, errRepliesTimeout)
		l.convs, l.err = r.listConversations(ctx)
		cancel()
		close(l.done)
	}
}

// listConversations reads the account's conversations (latest activity first), up to
// repliesConvPages pages.
func (r *repliesReader) listConversations(ctx context.Context) ([]apiclient.Conversation, error) {
	var out []apiclient.Conversation
	offset := 0
	for page := 0; page < repliesConvPages; page++ {
		p, err := r.api.ListConversations(ctx, apiclient.ListParams{Limit: 100, Offset: offset})
		if err != nil {
			if errors.Is(context.Cause(ctx), errRepliesTimeout) {
				return nil, fmt.Errorf("list conversations: no answer from the API within %s", r.bound)
			}
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		out = append(out, p.Data...)
		offset += len(p.Data)
		if !p.HasMore || len(p.Data) == 0 {
			return out, nil
		}
	}
	r.log.Warn("opt-out check read only the latest conversations", "pages", repliesConvPages)
	return out, nil
}

// conversationReplies returns e164's inbound texts among a conversation's latest messages,
// read once per state of the conversation.
func (r *repliesReader) conversationReplies(ctx context.Context, cv apiclient.Conversation, e164 string) ([]policy.Reply, error) {
	key := fmt.Sprintf("%s|%s|%d|%s", cv.ID, cv.LastMessageAt.Time.UTC().Format(time.RFC3339Nano), cv.MessageCount, e164)
	r.mu.Lock()
	got, ok := r.convs[key]
	r.mu.Unlock()
	if ok {
		return got, nil
	}
	msgs, err := r.api.ListConversationMessages(ctx, cv.ID, apiclient.CursorParams{Limit: repliesMessages})
	if err != nil {
		return nil, fmt.Errorf("read conversation %s: %w", cv.ID, err)
	}
	got = []policy.Reply{}
	for _, m := range msgs.Data {
		if m.Direction == apiclient.DirectionInbound && (m.FromNumber == e164 || (!cv.IsGroup && m.FromNumber == "")) {
			got = append(got, policy.Reply{Channel: store.ChannelSMS, Text: m.Body, At: m.ReceivedAt.Time, Ref: m.ID})
		}
	}
	r.mu.Lock()
	if len(r.convs) >= maxCached {
		clear(r.convs)
	}
	r.convs[key] = got
	r.mu.Unlock()
	return got, nil
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
		// Only an answered call has words in it: busy, failed and unanswered calls are skipped.
		// A call still going on counts too (a request is honoured when it is made); its
		// transcript is read afresh each time.
		if tools.CallParty(c) != e164 || (c.Status != apiclient.CallCompleted && c.Status != apiclient.CallInProgress) {
			continue
		}
		turns, err := r.callerTurns(ctx, c.ID, c.Status == apiclient.CallCompleted)
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

// callerTurns reads a call's caller turns; a finished call's (final) are read once and kept.
func (r *repliesReader) callerTurns(ctx context.Context, callID string, final bool) ([]string, error) {
	r.mu.Lock()
	t, ok := r.turns[callID]
	r.mu.Unlock()
	if ok && final {
		return t, nil
	}
	tr, err := r.api.GetTranscript(ctx, callID)
	switch {
	case apiclient.IsNotFound(err):
		t = nil // no transcript was kept (or the call is hidden): nothing was said to check
	case err != nil:
		return nil, fmt.Errorf("read the transcript of %s: %w", callID, err)
	default:
		t = tools.CallerTurns(tr.Turns)
	}
	if !final {
		return t, nil
	}
	r.mu.Lock()
	if len(r.turns) >= maxCached {
		clear(r.turns)
	}
	r.turns[callID] = t
	r.mu.Unlock()
	return t, nil
}

// errRepliesTimeout is the cause of a replies read cut off by the bound.
var errRepliesTimeout = errors.New("the replies read took too long")
