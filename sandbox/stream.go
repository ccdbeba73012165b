package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// heartbeatEvery is the SSE keep-alive comment interval.
const heartbeatEvery = 15 * time.Second

// streamTranscript serves GET /v1/calls/{call_id}/transcript/stream: "connected", then one
// "turn" event per utterance (stored ones replayed, then live ones), then "ended", then EOF.
func (s *Sandbox) streamTranscript(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c, e := s.callOr404(r.PathValue("call_id"))
	if e != nil {
		s.mu.Unlock()
		writeError(w, e)
		return
	}
	connected := map[string]any{"callId": c.id, "status": c.status, "agentId": strPtr(c.agentID),
		"agentName": c.agentName, "direction": c.direction, "fromNumber": c.from, "toNumber": c.to,
		"startedAt": ts(c.created)}
	s.mu.Unlock()

	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	send := func(name string, data any) error {
		if err := writeEvent(w, name, data); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	if send("connected", connected) != nil {
		return
	}
	ticker := s.clock.NewTicker(heartbeatEvery)
	defer ticker.Stop()
	sent := 0
	for {
		s.mu.Lock()
		pending := append([]utterance{}, c.utter[sent:]...)
		sent = len(c.utter)
		ended := c.terminal()
		endData := map[string]any{"callId": c.id, "status": c.status, "endedAt": tsPtr(c.ended),
			"durationSeconds": c.duration()}
		changed := c.changed
		s.mu.Unlock()
		for _, u := range pending {
			if send("turn", map[string]any{"role": u.role, "content": u.content, "createdAt": ts(u.at)}) != nil {
				return
			}
		}
		if ended {
			_ = send("ended", endData)
			return
		}
		select {
		case <-changed:
		case <-ticker.Chan():
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

func writeEvent(w io.Writer, name string, data any) error {
	body, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, body)
	return err
}
