package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// sessionTable is the server's record of its HTTP sessions: Streamable HTTP sessions
// (issued at initialize, ended by DELETE, idle expiry or shutdown) and SSE connections (one
// session per open /sse stream). mcp-go v1.2.1 accepts any well-formed Mcp-Session-Id, lets
// GET and DELETE through for ids it never issued, keeps a DELETEd session's GET stream open
// and never reclaims abandoned sessions; this table, used as mcp-go's SessionIdManager and by
// the HTTP middleware in front of it, closes those gaps:
//
//   - an id not in the table (never issued, DELETEd, expired, or from before a restart: the
//     table lives in memory) gets 404 on POST, GET and DELETE, so clients initialize again;
//   - a session is bound to the bearer credential that opened it: the same id with another
//     credential is unknown (404);
//   - ending a session cancels its open streams;
//   - a session with no request in flight and no open stream for `idle` expires, and mcp-go's
//     state for it is dropped (expire);
//   - at most `max` sessions are open; reserve refuses beyond that;
//   - with perCred set (caller-key mode: each credential is a caller's account), one
//     credential holds at most perCred of them, so one caller cannot take every session.
type sessionTable struct {
	clock clockwork.Clock
	idle  time.Duration
	max   int
	// perCred bounds the sessions of one credential; 0: no bound of its own.
	perCred int
	logger  *slog.Logger
	// expire drops mcp-go's state of a Streamable HTTP session the table expired.
	expire func(id string)
	// reclaim runs after a sweep that expired sessions: it returns their memory to the OS
	// (debug.FreeOSMemory). Without it the Go runtime keeps the pages until a later GC and
	// the scavenger get to them, and RSS stays at its peak.
	reclaim func()

	mu         sync.Mutex
	sessions   map[string]*sessionEntry
	reserved   int
	reservedBy map[string]int // reservations by credential (perCred)
	closing    bool
}

type sessionEntry struct {
	sse      bool   // an SSE connection (ends with its stream, never idles out)
	claimed  bool   // the id has been handed to a client (bound to cred)
	cred     string // fingerprint of the credential that opened it
	active   int    // requests in flight plus open streams
	lastSeen time.Time
	streams  map[int]context.CancelFunc
	nextID   int
}

var (
	errSessionUnknown = errors.New("unknown or ended session")
	errSessionsFull   = errors.New("session limit reached")
	// errCallerSessionsFull: the credential holds its share of the sessions (perCred).
	errCallerSessionsFull = errors.New("session limit of this caller reached")
	errShuttingDown       = errors.New("the server is shutting down")
)

func newSessionTable(clock clockwork.Clock, idle time.Duration, limit int, logger *slog.Logger) *sessionTable {
	return &sessionTable{clock: clock, idle: idle, max: limit, logger: logger, sessions: map[string]*sessionEntry{}, reservedBy: map[string]int{}}
}

func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "mcp-session-" + hex.EncodeToString(b)
}

// reserve holds a place for a session about to be opened (an initialize POST, an /sse GET)
// by cred.
func (t *sessionTable) reserve(cred string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return errShuttingDown
	}
	if len(t.sessions)+t.reserved >= t.max {
		return errSessionsFull
	}
	if t.perCred > 0 && cred != "" {
		n := t.reservedBy[cred]
		for _, e := range t.sessions {
			if e.cred == cred {
				n++
			}
		}
		if n >= t.perCred {
			return errCallerSessionsFull
		}
	}
	t.reserved++
	t.reservedBy[cred]++
	return nil
}

// unreserve releases cred's reservation once its request is over (the session, if one was
// opened, is counted in the table by then).
func (t *sessionTable) unreserve(cred string) {
	t.mu.Lock()
	t.reserved--
	if t.reservedBy[cred]--; t.reservedBy[cred] <= 0 {
		delete(t.reservedBy, cred)
	}
	t.mu.Unlock()
}

// Generate implements mcp-go's SessionIdManager: a new, not yet claimed, session.
func (t *sessionTable) Generate() string {
	id := newSessionID()
	t.mu.Lock()
	t.sessions[id] = &sessionEntry{lastSeen: t.clock.Now(), streams: map[int]context.CancelFunc{}}
	t.mu.Unlock()
	return id
}

// Validate implements mcp-go's SessionIdManager: only claimed sessions in the table are valid.
func (t *sessionTable) Validate(id string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.sessions[id]; e == nil || !e.claimed || e.sse {
		return false, errSessionUnknown
	}
	return false, nil
}

// Terminate implements mcp-go's SessionIdManager (DELETE, shutdown, expiry): the session
// leaves the table and its streams are cancelled. Ending an unknown id is not an error.
func (t *sessionTable) Terminate(id string) (bool, error) {
	t.remove(id)
	return false, nil
}

// claim binds a freshly generated session to the credential of the client it is handed to.
// It runs before the id leaves the server (just before the response headers are written).
func (t *sessionTable) claim(id, cred string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.sessions[id]; e != nil && !e.claimed {
		e.claimed, e.cred, e.lastSeen = true, cred, t.clock.Now()
	}
}

// openSSE records a new SSE connection (bound to cred) whose stream cancel is given.
func (t *sessionTable) openSSE(cred string, cancel context.CancelFunc) string {
	id := newSessionID()
	t.mu.Lock()
	t.sessions[id] = &sessionEntry{sse: true, claimed: true, cred: cred, active: 1, lastSeen: t.clock.Now(),
		streams: map[int]context.CancelFunc{0: cancel}, nextID: 1}
	t.mu.Unlock()
	return id
}

// begin starts a request (or, with cancel set, a stream) in a session presented with cred.
// It returns errSessionUnknown for an id not in the table, not yet claimed, or bound to
// another credential, and errShuttingDown during shutdown. end must be called when the
// request or stream ends.
func (t *sessionTable) begin(id, cred string, sse bool, cancel context.CancelFunc) (end func(), err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.sessions[id]
	if e == nil || !e.claimed || e.sse != sse || e.cred != cred {
		return nil, errSessionUnknown
	}
	if t.closing {
		return nil, errShuttingDown
	}
	e.active++
	e.lastSeen = t.clock.Now()
	streamID := -1
	if cancel != nil {
		streamID = e.nextID
		e.nextID++
		e.streams[streamID] = cancel
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			e.active--
			e.lastSeen = t.clock.Now()
			if streamID >= 0 {
				delete(e.streams, streamID)
			}
		})
	}, nil
}

// remove drops a session and cancels its streams.
func (t *sessionTable) remove(id string) {
	t.mu.Lock()
	var cancels []context.CancelFunc
	if e := t.sessions[id]; e != nil {
		for _, c := range e.streams {
			cancels = append(cancels, c)
		}
	}
	delete(t.sessions, id)
	t.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
}

// count is the number of sessions in the table.
func (t *sessionTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// sweep expires the Streamable HTTP sessions idle for longer than t.idle and returns their ids.
func (t *sessionTable) sweep() []string {
	now := t.clock.Now()
	var expired []string
	t.mu.Lock()
	for id, e := range t.sessions {
		if !e.sse && e.active == 0 && now.Sub(e.lastSeen) >= t.idle {
			expired = append(expired, id)
			delete(t.sessions, id)
		}
	}
	t.mu.Unlock()
	for _, id := range expired {
		if t.expire != nil {
			t.expire(id)
		}
	}
	if len(expired) > 0 {
		t.logger.Info("expired idle HTTP sessions", "sessions", len(expired), "idle", t.idle.String())
		if t.reclaim != nil {
			t.reclaim()
		}
	}
	return expired
}

// run sweeps every quarter of the idle time (between 1 s and 1 min) until ctx ends.
func (t *sessionTable) run(ctx context.Context) {
	every := min(max(t.idle/4, time.Second), time.Minute)
	ticker := t.clock.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
			t.sweep()
		}
	}
}

// shutdown makes the table refuse new sessions, requests and streams.
func (t *sessionTable) shutdown() {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
}

// cancelStreams cancels every open stream (shutdown: nothing may hold the HTTP server open).
func (t *sessionTable) cancelStreams() {
	t.mu.Lock()
	var cancels []context.CancelFunc
	for _, e := range t.sessions {
		for _, c := range e.streams {
			cancels = append(cancels, c)
		}
	}
	t.mu.Unlock()
	for _, c := range cancels {
		c()
	}
}
