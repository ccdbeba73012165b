package server

// Streamable HTTP and SSE sessions (issue 10 item 5, issue 15 item 15): unknown or ended ids
// get 404 on every method, DELETE ends a session and its GET stream, idle sessions expire
// and mcp-go forgets them, the number of open sessions is capped, a session is bound to the
// bearer token that opened it, and stateless 2026-07-28 requests need no session.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

const (
	tokenA = "token-a-0123456789abcdef0123456789abcdef"
	tokenB = "token-b-0123456789abcdef0123456789abcdef"
)

// httpHarness is an App on the http (or sse) transport whose clients need tokenA or tokenB.
func httpHarness(t *testing.T, kind string, mods ...func(*Config)) *harness {
	t.Helper()
	mods = append([]func(*Config){func(c *Config) { c.Transport = kind }}, mods...)
	return newSecretsHarness(t, Secrets{HTTPToken: keyguard.NewSecret(tokenA + "," + tokenB)}, mods...)
}

func TestHTTPUnknownSessionIs404OnEveryMethod(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.serveRaw("http")
	never := "mcp-session-00000000000000000000000000000000"
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		body := ""
		if m == http.MethodPost {
			body = `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`
		}
		resp, got := c.request(m, "/mcp", map[string]string{mcpserver.HeaderKeySessionID: never}, body)
		mustStatus(t, resp, got, http.StatusNotFound, m+" with a never-issued session id")
		if code, msg := rpcErr(got); code != -32001 || !strings.Contains(msg, "initialize") {
			t.Fatalf("%s: want JSON-RPC -32001 telling the client to initialize, got %d %q", m, code, msg)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		body := ""
		if m == http.MethodPost {
			body = `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`
		}
		resp, got := c.request(m, "/mcp", nil, body)
		mustStatus(t, resp, got, http.StatusBadRequest, m+" without a session id")
	}
}

func TestHTTPDeleteEndsTheSessionAndItsStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.serveRaw("http")
	sid := c.initialize()
	s := c.openStream("/mcp", map[string]string{mcpserver.HeaderKeySessionID: sid})
	resp, body := c.post(sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusOK, "tools/list in the session")

	resp, body = c.request(http.MethodDelete, "/mcp", map[string]string{mcpserver.HeaderKeySessionID: sid}, "")
	mustStatus(t, resp, body, http.StatusOK, "DELETE")
	s.waitClosed(t, 10*time.Second, "the GET stream after DELETE")

	resp, body = c.post(sid, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusNotFound, "POST after DELETE")
	resp, body = c.request(http.MethodGet, "/mcp", map[string]string{mcpserver.HeaderKeySessionID: sid}, "")
	mustStatus(t, resp, body, http.StatusNotFound, "GET after DELETE")
	resp, body = c.request(http.MethodDelete, "/mcp", map[string]string{mcpserver.HeaderKeySessionID: sid}, "")
	mustStatus(t, resp, body, http.StatusNotFound, "DELETE after DELETE")
	if err := h.app.MCP().SendNotificationToSpecificClient(sid, "notifications/message", map[string]any{"level": "info", "data": "x"}); err == nil {
		t.Fatal("mcp-go still holds the deleted session")
	}
}

func TestHTTPIdleSessionsExpireAndAreForgotten(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.SessionIdle = 10 * time.Minute })
	c := h.serveRaw("http")
	tr := c.tr

	idle := c.initialize()
	busy := c.initialize()
	s := c.openStream("/mcp", map[string]string{mcpserver.HeaderKeySessionID: busy})

	h.clk.Advance(9 * time.Minute)
	if got := tr.sessions.sweep(); len(got) != 0 {
		t.Fatalf("swept %v before the idle time passed", got)
	}
	h.clk.Advance(2 * time.Minute)
	got := tr.sessions.sweep()
	if len(got) != 1 || got[0] != idle {
		t.Fatalf("swept %v, want only the idle session (the other has an open stream)", got)
	}
	resp, body := c.post(idle, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusNotFound, "POST to an expired session")
	if err := h.app.MCP().SendNotificationToSpecificClient(idle, "notifications/message", map[string]any{"level": "info", "data": "x"}); err == nil {
		t.Fatal("mcp-go still holds the expired session: its memory is not reclaimed")
	}
	resp, body = c.post(busy, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusOK, "the session with an open stream")

	// Once its stream closes, the busy session idles out too, through the sweeper goroutine.
	s.resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for tr.sessions.activeStreams(busy) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the closed stream is still counted")
		}
		time.Sleep(5 * time.Millisecond) // the server notices the closed connection
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.clk.BlockUntilContext(ctx, 1); err != nil { // the sweeper's ticker
		t.Fatal(err)
	}
	h.clk.Advance(11 * time.Minute)
	for tr.sessions.count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not expire the session")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, body = c.post(busy, `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusNotFound, "POST after the sweeper expired the session")
}

func TestHTTPSessionLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxSessions = 2 })
	c := h.serveRaw("http")
	first := c.initialize()
	c.initialize()
	resp, body := c.post("", initializeMsg)
	mustStatus(t, resp, body, http.StatusServiceUnavailable, "a third session over the limit of 2")
	if code, msg := rpcErr(body); code != -32000 || !strings.Contains(msg, "AGENTPHONE_HTTP_MAX_SESSIONS") || !strings.Contains(msg, "too many open sessions (2") {
		t.Fatalf("the refusal must say what limit was hit and how to change it: %d %q", code, msg)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on the refusal")
	}
	// Stateless 2026-07-28 requests open no session and are not refused.
	resp, body = statelessToolsList(c)
	mustStatus(t, resp, body, http.StatusOK, "a stateless request at the session limit")

	resp, body = c.request(http.MethodDelete, "/mcp", map[string]string{mcpserver.HeaderKeySessionID: first}, "")
	mustStatus(t, resp, body, http.StatusOK, "DELETE")
	c.initialize() // room again
}

func TestSSESessionLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxSessions = 1 })
	c := h.serveRaw("sse")
	s := c.openStream("/sse", nil)
	s.next(t, 10*time.Second) // the endpoint event
	resp, body := c.request(http.MethodGet, "/sse", nil, "")
	mustStatus(t, resp, body, http.StatusServiceUnavailable, "a second SSE connection over the limit of 1")
	if !strings.Contains(body, "AGENTPHONE_HTTP_MAX_SESSIONS") {
		t.Fatalf("the refusal must name the limit: %s", body)
	}
}

func TestHTTPSessionBoundToItsToken(t *testing.T) {
	t.Parallel()
	h := httpHarness(t, "http")
	a := h.serveRaw("http").with(tokenA)
	b := a.with(tokenB)
	sid := a.initialize()
	resp, body := b.post(sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusNotFound, "another token posting into the session")
	resp, body = b.request(http.MethodGet, "/mcp", map[string]string{mcpserver.HeaderKeySessionID: sid}, "")
	mustStatus(t, resp, body, http.StatusNotFound, "another token opening the session's stream")
	resp, body = b.request(http.MethodDelete, "/mcp", map[string]string{mcpserver.HeaderKeySessionID: sid}, "")
	mustStatus(t, resp, body, http.StatusNotFound, "another token deleting the session")
	resp, body = a.post(sid, `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusOK, "the token that opened the session")
	resp, body = a.with("").post(sid, `{"jsonrpc":"2.0","id":4,"method":"tools/list"}`)
	mustStatus(t, resp, body, http.StatusUnauthorized, "no token")
}

func TestSSESessionBoundToItsToken(t *testing.T) {
	t.Parallel()
	h := httpHarness(t, "sse")
	a := h.serveRaw("sse").with(tokenA)
	b := a.with(tokenB)
	s := a.openStream("/sse", nil)
	endpoint := s.next(t, 10*time.Second)
	if !strings.HasPrefix(endpoint, "/message?sessionId=") {
		t.Fatalf("endpoint event %q", endpoint)
	}
	msg := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	resp, body := b.request(http.MethodPost, endpoint, nil, msg)
	mustStatus(t, resp, body, http.StatusNotFound, "another token posting into the SSE session")
	resp, body = a.request(http.MethodPost, "/message?sessionId=mcp-session-0000", nil, msg)
	mustStatus(t, resp, body, http.StatusNotFound, "an unknown SSE session")
	resp, body = a.request(http.MethodPost, endpoint, nil, msg)
	mustStatus(t, resp, body, http.StatusAccepted, "the token that opened the SSE session")
	if got := s.next(t, 10*time.Second); !strings.Contains(got, `"protocolVersion"`) {
		t.Fatalf("the initialize result did not arrive on the stream: %s", got)
	}
}

func TestHTTPStatelessRequestsNeedNoSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.serveRaw("http")
	resp, body := statelessToolsList(c)
	mustStatus(t, resp, body, http.StatusOK, "stateless tools/list")
	if resp.Header.Get(mcpserver.HeaderKeySessionID) != "" || !strings.Contains(body, `"send_sms"`) {
		t.Fatalf("stateless tools/list: session header %q, body %.200s", resp.Header.Get(mcpserver.HeaderKeySessionID), body)
	}
	if n := c.tr.sessions.count(); n != 0 {
		t.Fatalf("a stateless request opened %d sessions", n)
	}
}

// statelessToolsList sends a 2026-07-28 tools/list (no session, version and capabilities in
// _meta and headers).
func statelessToolsList(c rawHTTP) (*http.Response, string) {
	c.t.Helper()
	msg := `{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
	return c.request(http.MethodPost, "/mcp", map[string]string{
		mcp.HeaderProtocolVersion: "2026-07-28", "Mcp-Method": "tools/list",
	}, msg)
}
