package server

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// rawHTTP speaks Streamable HTTP (or SSE) to the server byte by byte, so tests can see
// statuses, headers and which stream carries what, which a client library hides.
type rawHTTP struct {
	t     *testing.T
	tr    *httpTransport
	base  string // server URL without path
	token string // bearer token, "" for none
}

// serveRaw starts the App's HTTP handler for kind on an httptest server.
func (h *harness) serveRaw(kind string) rawHTTP {
	h.t.Helper()
	tr := h.app.newHTTPTransport(kind)
	srv := httptest.NewServer(tr)
	h.t.Cleanup(srv.Close)
	return rawHTTP{t: h.t, tr: tr, base: srv.URL}
}

func (c rawHTTP) with(token string) rawHTTP { c.token = token; return c }

// request sends one HTTP request and returns the response with its whole body.
func (c rawHTTP) request(method, path string, header map[string]string, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, string(b)
}

// post sends one JSON-RPC message to /mcp within session sid ("" for none).
func (c rawHTTP) post(sid, msg string) (*http.Response, string) {
	c.t.Helper()
	h := map[string]string{}
	if sid != "" {
		h[mcpserver.HeaderKeySessionID] = sid
		h[mcp.HeaderProtocolVersion] = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	}
	return c.request(http.MethodPost, "/mcp", h, msg)
}

const initializeMsg = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// initialize opens a Streamable HTTP session and returns its id.
func (c rawHTTP) initialize() string {
	c.t.Helper()
	resp, body := c.post("", initializeMsg)
	sid := resp.Header.Get(mcpserver.HeaderKeySessionID)
	if resp.StatusCode != http.StatusOK || sid == "" {
		c.t.Fatalf("initialize: status %d, session %q, body %s", resp.StatusCode, sid, body)
	}
	if resp, body := c.post(sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != http.StatusAccepted {
		c.t.Fatalf("notifications/initialized: %d %s", resp.StatusCode, body)
	}
	return sid
}

// rpcErr decodes the JSON-RPC error of a response body (code 0 when there is none).
func rpcErr(body string) (code int, message string) {
	var m struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(lastMessage(body)), &m)
	return m.Error.Code, m.Error.Message
}

// lastMessage is the body itself (JSON) or the data of its last SSE event.
func lastMessage(body string) string {
	msgs := sseMessages(body)
	if len(msgs) == 0 {
		return body
	}
	return msgs[len(msgs)-1]
}

// sseMessages are the data payloads of the SSE events in body (none for a JSON body).
func sseMessages(body string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if data, ok := strings.CutPrefix(line, "data:"); ok {
			out = append(out, strings.TrimSpace(data))
		}
	}
	return out
}

// stream is an open SSE GET stream.
type stream struct {
	resp   *http.Response
	events chan string // data payloads
	closed chan struct{}
	mu     sync.Mutex
	all    []string
}

// openStream opens a GET SSE stream on path with the given headers; status must be 200.
func (c rawHTTP) openStream(path string, header map[string]string) *stream {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.t.Fatalf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	s := &stream{resp: resp, events: make(chan string, 1024), closed: make(chan struct{})}
	c.t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(s.closed)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				data = strings.TrimSpace(data)
				s.mu.Lock()
				s.all = append(s.all, data)
				s.mu.Unlock()
				select {
				case s.events <- data:
				default:
				}
			}
		}
	}()
	return s
}

// waitClosed fails unless the server ends the stream within bound.
func (s *stream) waitClosed(t *testing.T, bound time.Duration, what string) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(bound):
		t.Fatalf("%s: the stream was still open after %s", what, bound)
	}
}

// next returns the next event's data within bound.
func (s *stream) next(t *testing.T, bound time.Duration) string {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(bound):
		t.Fatalf("no event within %s", bound)
		return ""
	}
}

func (s *stream) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.all...)
}

func toolCallMsg(id int, name string, args map[string]any, progressToken any) string {
	params := map[string]any{"name": name, "arguments": args}
	if progressToken != nil {
		params["_meta"] = map[string]any{"progressToken": progressToken}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
	return string(b)
}

func mustStatus(t *testing.T, resp *http.Response, body string, want int, what string) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, resp.StatusCode, want, body)
	}
}

// activeStreams counts the open streams of session id (tests).
func (t *sessionTable) activeStreams(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.sessions[id]; e != nil {
		return len(e.streams)
	}
	return 0
}
