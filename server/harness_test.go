package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// testStart is a Tuesday, 15:00 in Chicago: inside calling hours in every US time zone from
// New York (16:00) to Honolulu (10:00).
var testStart = time.Date(2026, 6, 16, 20, 0, 0, 0, time.UTC)

// inProcessStdio lets one test at a time run in-process stdio servers (see connectWith); a
// test may open several, one after another.
var inProcessStdio = &testLock{cond: sync.NewCond(&sync.Mutex{})}

// testLock is a lock held by one test, re-entrant within that test.
type testLock struct {
	cond  *sync.Cond
	owner *testing.T
	count int
}

func (l *testLock) acquire(t *testing.T) {
	l.cond.L.Lock()
	defer l.cond.L.Unlock()
	for l.owner != nil && l.owner != t {
		l.cond.Wait()
	}
	l.owner = t
	l.count++
}

func (l *testLock) release() {
	l.cond.L.Lock()
	defer l.cond.L.Unlock()
	if l.count--; l.count == 0 {
		l.owner = nil
		l.cond.Broadcast()
	}
}

// transports are the ways a test can reach the server: every policy test runs over each.
var transports = []string{"inprocess", "stdio", "http", "sse"}

// harness is one App on a fake clock and an in-process sandbox.
type harness struct {
	t   *testing.T
	ctx context.Context
	app *App
	sb  *sandbox.Sandbox
	clk *clockwork.FakeClock
	cfg Config
}

func newHarness(t *testing.T, mods ...func(*Config)) *harness {
	t.Helper()
	return newKeyedHarness(t, "", mods...)
}

// connect starts an MCP client on the named transport and initializes it.
func (h *harness) connect(kind string, opts ...client.ClientOption) *client.Client {
	h.t.Helper()
	return h.connectWith(kind, true, opts...)
}

// connectWith starts a client on the named transport, initialized or not.
func (h *harness) connectWith(kind string, initialize bool, opts ...client.ClientOption) *client.Client {
	h.t.Helper()
	var c *client.Client
	var err error
	switch kind {
	case "inprocess":
		c, err = client.NewInProcessClientWithOptions(h.app.MCP(), opts...)
	case "stdio":
		// mcp-go's stdio session is one package-level value (a process has one stdin): two
		// stdio servers in one test binary share its client capabilities and its writer, so a
		// test's elicitation could go to another test's pipe. One at a time, then.
		inProcessStdio.acquire(h.t)
		clientIn, serverOut := io.Pipe()
		serverIn, clientOut := io.Pipe()
		ctx, cancel := context.WithCancel(h.ctx)
		served := make(chan struct{})
		go func() { _ = h.app.serveStdio(ctx, serverIn, serverOut); close(served) }()
		h.t.Cleanup(func() {
			cancel()
			_ = serverIn.Close()
			_ = serverOut.Close()
			<-served
			inProcessStdio.release()
		})
		c = client.NewClient(transport.NewIO(clientIn, clientOut, io.NopCloser(strings.NewReader(""))), opts...)
	case "http", "sse":
		srv := httptest.NewServer(h.app.HTTPHandler(kind))
		h.t.Cleanup(srv.Close)
		if kind == "http" {
			tr, terr := transport.NewStreamableHTTP(srv.URL + "/mcp")
			if terr != nil {
				h.t.Fatal(terr)
			}
			c = client.NewClient(tr, opts...)
		} else {
			tr, terr := transport.NewSSE(srv.URL + "/sse")
			if terr != nil {
				h.t.Fatal(terr)
			}
			c = client.NewClient(tr, opts...)
		}
	default:
		h.t.Fatalf("unknown transport %q", kind)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	if err := c.Start(h.ctx); err != nil {
		h.t.Fatalf("start %s client: %v", kind, err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	if !initialize {
		return c
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "harness", Version: "1"}
	if _, err := c.Initialize(h.ctx, init); err != nil {
		h.t.Fatalf("initialize over %s: %v", kind, err)
	}
	return c
}

// result is a tool result decoded for assertions.
type result struct {
	isError bool
	text    string
	data    map[string]any
}

func (r result) str(key string) string {
	v, _ := r.data[key].(string)
	return v
}

// call invokes a tool and decodes its result; a protocol error fails the test.
func (h *harness) call(c *client.Client, name string, args map[string]any) result {
	h.t.Helper()
	res, err := h.callErr(c, name, args)
	if err != nil {
		h.t.Fatalf("%s: protocol error: %v", name, err)
	}
	return res
}

func (h *harness) callErr(c *client.Client, name string, args map[string]any) (result, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(h.ctx, req)
	if err != nil {
		return result{}, err
	}
	var parts []string
	for _, content := range res.Content {
		if tc, ok := content.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	r := result{isError: res.IsError, text: strings.Join(parts, "\n"), data: map[string]any{}}
	if raw, err := json.Marshal(res.StructuredContent); err == nil {
		_ = json.Unmarshal(raw, &r.data)
	}
	return r, nil
}

// mustOK fails unless the result is a success.
func (h *harness) mustOK(r result, what string) result {
	h.t.Helper()
	if r.isError {
		h.t.Fatalf("%s: unexpected isError: %s", what, r.text)
	}
	return r
}

// confirm runs a confirm-tier call through the two-step token.
func (h *harness) confirm(c *client.Client, name string, args map[string]any) result {
	h.t.Helper()
	first := h.call(c, name, args)
	if first.str("status") != "confirmation_required" {
		if h.cfg.ConfirmMode == "off" {
			return h.mustOK(first, name)
		}
		h.t.Fatalf("%s: expected confirmation_required, got %s", name, first.text)
	}
	withTok := map[string]any{}
	for k, v := range args {
		withTok[k] = v
	}
	withTok["confirmation_token"] = first.str("confirmation_token")
	return h.mustOK(h.call(c, name, withTok), name+" (confirmed)")
}

// setupAgentWithNumber creates a hosted agent with a bought number and returns their ids.
func (h *harness) setupAgentWithNumber(c *client.Client) (agentID, numberID, number string) {
	h.t.Helper()
	a := h.confirm(c, "create_agent", map[string]any{"name": "Desk", "voice_mode": "hosted", "system_prompt": "Be brief."})
	agentID = a.str("id")
	n := h.confirm(c, "buy_number", map[string]any{"agent_id": agentID, "area_code": "415"})
	return agentID, n.str("id"), n.str("phone_number")
}

// rawAPI is an API client straight to the sandbox, without the server's operator filter: the
// test's view of what really happened (the codes texted to the operator).
func (h *harness) rawAPI() *apiclient.Client {
	h.t.Helper()
	ep, err := keyguard.ParseBaseURL("")
	if err != nil {
		h.t.Fatal(err)
	}
	c, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret(SandboxKey), h.sb.Transport()), Clock: h.clk})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func apiGetCall() apiclient.GetCallParams { return apiclient.GetCallParams{} }
