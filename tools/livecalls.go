package tools

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
)

// LiveTurn is one caller utterance on a webhook-mode call, held open by the webhook receiver
// until the model answers it with say (or the receiver gives up).
type LiveTurn struct {
	CallID    string
	AgentID   string
	NumberID  string
	From, To  string
	Direction string
	// Text is what the caller said: third-party text, sanitised when shown.
	Text string
	// NewCall is true for the first turn seen on this call.
	NewCall bool
	At      time.Time

	answer chan apiclient.VoiceResponse
	closed bool // guarded by LiveCalls.mu
}

// Answer delivers the model's response to the receiver holding the turn.
func (t *LiveTurn) Answer() <-chan apiclient.VoiceResponse { return t.answer }

// LiveCalls hands held caller turns from the webhook receiver to listen_call and carries the
// model's say back. It keeps at most one open turn per call (the API sends the next utterance
// only after the previous one was answered). Safe for concurrent use.
type LiveCalls struct {
	mu     sync.Mutex
	queue  []*LiveTurn           // turns not yet handed to the model, oldest first
	open   map[string]*LiveTurn  // call id -> the turn awaiting an answer
	seen   map[string]time.Time  // call ids seen, for NewCall (bounded)
	ended  map[string]string     // call id -> final status, once the call ended (bounded)
	wake   chan struct{}         // closed and replaced on every change
	recent map[string][]liveLine // call id -> what was said, for context (bounded)
}

// liveLine is one line of a live call as listen_call reports it.
type liveLine struct {
	Speaker string `json:"speaker"`
	Text    string `json:"text"`
}

// maxLiveCalls bounds the per-call bookkeeping LiveCalls keeps.
const maxLiveCalls = 256

// NewLiveCalls returns an empty hub.
func NewLiveCalls() *LiveCalls {
	return &LiveCalls{open: map[string]*LiveTurn{}, seen: map[string]time.Time{}, ended: map[string]string{},
		recent: map[string][]liveLine{}, wake: make(chan struct{})}
}

// Hold registers a caller turn and returns it; the receiver waits on its Answer channel and
// calls Release when the webhook request is over, answered or not.
func (l *LiveCalls) Hold(t LiveTurn) *LiveTurn {
	if l == nil {
		return nil
	}
	h := &t
	h.answer = make(chan apiclient.VoiceResponse, 1)
	h.closed = false
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, known := l.seen[h.CallID]; !known {
		h.NewCall = true
		if len(l.seen) >= maxLiveCalls {
			l.forgetOldestLocked()
		}
		l.seen[h.CallID] = h.At
	}
	if prev := l.open[h.CallID]; prev != nil {
		l.dropLocked(prev)
	}
	l.open[h.CallID] = h
	l.queue = append(l.queue, h)
	l.remember(h.CallID, "caller", h.Text)
	l.signalLocked()
	return h
}

// Release forgets a turn whose webhook request is over.
func (l *LiveCalls) Release(h *LiveTurn) {
	if l == nil || h == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked(h)
	l.signalLocked()
}

// Ended records that a call is over, waking listen_call waiting on it.
func (l *LiveCalls) Ended(callID, status string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ended) >= maxLiveCalls {
		for k := range l.ended {
			delete(l.ended, k)
			break
		}
	}
	l.ended[callID] = status
	l.signalLocked()
}

func (l *LiveCalls) dropLocked(h *LiveTurn) {
	h.closed = true
	if l.open[h.CallID] == h {
		delete(l.open, h.CallID)
	}
	for i, q := range l.queue {
		if q == h {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			break
		}
	}
}

func (l *LiveCalls) forgetOldestLocked() {
	var oldest string
	var at time.Time
	for id, t := range l.seen {
		if oldest == "" || t.Before(at) {
			oldest, at = id, t
		}
	}
	delete(l.seen, oldest)
	delete(l.recent, oldest)
}

func (l *LiveCalls) remember(callID, speaker, text string) {
	if text == "" {
		return
	}
	lines := append(l.recent[callID], liveLine{speaker, untrusted(text, maxBody)})
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	l.recent[callID] = lines
}

func (l *LiveCalls) signalLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// errCallEnded says the call listen_call waited on is over.
var errCallEnded = errors.New("the call ended")

// next waits for a caller turn not yet handed to the model, on callID or (empty) any call.
// It returns errCallEnded (with the status) when callID ended first, or ctx.Err().
func (l *LiveCalls) next(ctx context.Context, callID string) (*LiveTurn, string, error) {
	for {
		l.mu.Lock()
		for i, t := range l.queue {
			if callID == "" || t.CallID == callID {
				l.queue = append(l.queue[:i], l.queue[i+1:]...)
				l.mu.Unlock()
				return t, "", nil
			}
		}
		if status, over := l.ended[callID]; callID != "" && over {
			l.mu.Unlock()
			return nil, status, errCallEnded
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
}

// errNoOpenTurn says say has nothing to answer.
var errNoOpenTurn = errors.New("no caller turn is waiting for an answer on this call")

// pending returns the open turn of callID without taking it.
func (l *LiveCalls) pending(callID string) *LiveTurn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[callID]
}

// answer hands r to the open turn of callID and closes it.
func (l *LiveCalls) answer(callID string, r apiclient.VoiceResponse) (*LiveTurn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.open[callID]
	if h == nil {
		return nil, errNoOpenTurn
	}
	if h.closed {
		delete(l.open, callID)
		return nil, errNoOpenTurn
	}
	h.answer <- r
	l.remember(callID, "agent", r.Text)
	l.dropLocked(h)
	l.signalLocked()
	return h, nil
}

// history returns the recent lines of a call.
func (l *LiveCalls) history(callID string) []liveLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]liveLine{}, l.recent[callID]...)
}

// String describes the hub's state for logs.
func (l *LiveCalls) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("live calls: %d turns queued, %d open", len(l.queue), len(l.open))
}
