package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// postStream wraps the ResponseWriter of one Streamable HTTP POST. mcp-go delivers a
// request's notifications through the session's single channel, which an open GET stream (or
// another POST of the session) may drain, so progress could land on the wrong stream or after
// the result. postStream lets the handler write request-related notifications on this POST's
// own response instead (notify): the response becomes an SSE stream, as the spec allows, and
// when mcp-go then writes its result as a plain JSON body, that body is framed as the
// stream's last event. It also applies rpcError codes to the response, and calls onHeader
// just before the status line leaves (the session table claims a new session id there).
type postStream struct {
	w        http.ResponseWriter
	modern   bool                // a 2026-07-28 request: error codes map to HTTP statuses
	onHeader func(h http.Header) // may be nil

	mu     sync.Mutex
	wrote  bool // the status line is written
	sse    bool // the response is an SSE stream
	held   bool // mcp-go is writing a JSON body: it is held and sent by finish
	status int  // the status mcp-go asked for with the held body
	body   bytes.Buffer
	done   bool
}

var _ http.Flusher = (*postStream)(nil)

func newPostStream(w http.ResponseWriter, modern bool, onHeader func(http.Header)) *postStream {
	return &postStream{w: w, modern: modern, onHeader: onHeader}
}

// Header is the underlying header map.
func (p *postStream) Header() http.Header { return p.w.Header() }

// Unwrap lets http.ResponseController reach the connection (deadlines, flushing).
func (p *postStream) Unwrap() http.ResponseWriter { return p.w }

// WriteHeader sends the status line, except for a JSON response, which is held until finish
// (its status may follow the rewritten error code, or it may become the stream's last event).
func (p *postStream) WriteHeader(code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeHeaderLocked(code)
}

func (p *postStream) writeHeaderLocked(code int) {
	if p.held {
		return
	}
	ct, _, _ := mime.ParseMediaType(p.w.Header().Get("Content-Type"))
	if p.wrote {
		// Already streaming (this server's progress or mcp-go's forwarder started SSE): a JSON
		// response mcp-go now writes becomes the stream's last event.
		if ct == "application/json" && p.sse {
			p.held = true
		}
		return
	}
	if ct == "application/json" {
		p.held, p.status = true, code
		return
	}
	p.sendStatus(code)
	p.sse = ct == "text/event-stream"
}

func (p *postStream) sendStatus(code int) {
	if p.onHeader != nil {
		p.onHeader(p.w.Header())
	}
	p.w.WriteHeader(code)
	p.wrote = true
}

// Write writes body bytes: held for a JSON response, rewritten per SSE event otherwise.
func (p *postStream) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return 0, tools.ErrRequestDone
	}
	if !p.wrote && !p.held {
		p.writeHeaderLocked(http.StatusOK)
	}
	if p.held {
		return p.body.Write(b)
	}
	out := b
	if p.sse {
		out, _ = rewriteRPCFrame(b)
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Flush flushes what is written (nothing while a JSON body is held).
func (p *postStream) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked()
}

func (p *postStream) flushLocked() {
	if p.wrote && !p.held {
		if f, ok := p.w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

// notify writes one notification on this POST's response, turning it into an SSE stream if
// nothing was written yet. It is the Streamable HTTP route of tools.SendProgress.
func (p *postStream) notify(method string, params map[string]any) error {
	data, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || p.held {
		return tools.ErrRequestDone
	}
	if !p.wrote {
		h := p.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		p.sendStatus(http.StatusOK)
		p.sse = true
	}
	if !p.sse {
		return fmt.Errorf("%s not sent: the response is not a stream", method)
	}
	if _, err := fmt.Fprintf(p.w, "event: message\ndata: %s\n\n", data); err != nil {
		return fmt.Errorf("write %s: %w", method, err)
	}
	p.flushLocked()
	return nil
}

// finish sends a held JSON body (as a JSON response, or as the stream's last event) and
// closes the stream to further writes. The handler calls it after mcp-go returns.
func (p *postStream) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	if !p.held {
		return
	}
	body, code := rewriteRPCFrame(bytes.TrimSpace(p.body.Bytes()))
	if p.sse {
		_, _ = fmt.Fprintf(p.w, "event: message\ndata: %s\n\n", body)
		if f, ok := p.w.(http.Flusher); ok {
			f.Flush()
		}
		return
	}
	status := p.status
	if code != 0 && p.modern {
		status = httpStatusForCode(code)
	}
	body = append(body, '\n')
	p.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	p.sendStatus(status)
	_, _ = p.w.Write(body)
}

// sseStream wraps the ResponseWriter of a legacy SSE (/sse) stream, which carries the
// responses to that session's POSTs, to apply rpcError codes to them.
type sseStream struct {
	http.ResponseWriter
	mu sync.Mutex
}

func (s *sseStream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, _ := rewriteRPCFrame(b)
	if _, err := s.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (s *sseStream) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *sseStream) Unwrap() http.ResponseWriter { return s.ResponseWriter }
