package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// statelessCancels scopes notifications/cancelled for 2026-07-28 requests, which have no
// session. mcp-go keys the cancellation of a sessionless request by its JSON-RPC id alone,
// so one client's "cancel request 7" would end every other client's request 7 (in caller
// mode another account's send or wait). The transport therefore answers those
// notifications itself: it cancels only the in-flight requests with that id presented with
// the same credential (the bearer's fingerprint, the caller's account; "" when the server
// needs none), and mcp-go never sees them.
type statelessCancels struct {
	mu      sync.Mutex
	running map[string]map[*context.CancelFunc]struct{} // credential + id -> its requests
}

func newStatelessCancels() *statelessCancels {
	return &statelessCancels{running: map[string]map[*context.CancelFunc]struct{}{}}
}

func statelessCancelKey(cred string, id any) string {
	return fmt.Sprintf("%s\x00%T:%v", cred, id, id)
}

// track registers a sessionless request with id (nil: a notification, nothing to track);
// its context is cancelled by a cancellation from the same credential. done unregisters it.
func (s *statelessCancels) track(ctx context.Context, cred string, id any) (context.Context, func()) {
	if id == nil {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	key := statelessCancelKey(cred, id)
	s.mu.Lock()
	if s.running[key] == nil {
		s.running[key] = map[*context.CancelFunc]struct{}{}
	}
	s.running[key][&cancel] = struct{}{}
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		delete(s.running[key], &cancel)
		if len(s.running[key]) == 0 {
			delete(s.running, key)
		}
		s.mu.Unlock()
		cancel()
	}
}

// cancel ends the credential's in-flight sessionless requests named by a
// notifications/cancelled body; it reports whether body was one (the caller then answers it).
func (s *statelessCancels) cancel(cred string, body []byte) bool {
	var msg struct {
		Method string `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != "notifications/cancelled" {
		return false
	}
	id := rawID(msg.Params.RequestID)
	if id == nil {
		return true // names no request: nothing to cancel
	}
	s.mu.Lock()
	var cancels []context.CancelFunc
	for c := range s.running[statelessCancelKey(cred, id)] {
		cancels = append(cancels, *c)
	}
	s.mu.Unlock()
	for _, c := range cancels {
		c()
	}
	return true
}

// acceptNotification answers a notification the transport handled itself.
func acceptNotification(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }
