package tools_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/server"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// start is a Tuesday, 15:00 in Chicago: inside calling hours across the US.
var start = time.Date(2026, 6, 16, 20, 0, 0, 0, time.UTC)

// recvEnv is an App in sandbox mode with the webhook receiver on a loopback test server, the
// receiving tools registered, a fake clock, and an API client for setting the sandbox up.
type recvEnv struct {
	t       *testing.T
	ctx     context.Context
	app     *server.App
	sb      *sandbox.Sandbox
	clk     *clockwork.FakeClock
	api     *apiclient.Client
	hookURL string
	logs    *logTap
	client  *client.Client
}

// connectOnce returns the env's in-process client, connecting it on first use.
func (e *recvEnv) connectOnce() *client.Client {
	if e.client == nil {
		e.client = e.connect("inprocess")
	}
	return e.client
}

// logTap records which tool calls finished (the server logs "tool call" when a handler returns).
type logTap struct {
	mu   sync.Mutex
	done map[string]int
	wake chan struct{}
}

func (l *logTap) Enabled(context.Context, slog.Level) bool { return true }
func (l *logTap) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logTap) WithGroup(string) slog.Handler            { return l }
func (l *logTap) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "tool call" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "tool" {
			l.mu.Lock()
			l.done[a.Value.String()]++
			close(l.wake)
			l.wake = make(chan struct{})
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// waitDone blocks until tool has finished n times.
func (l *logTap) waitDone(ctx context.Context, tool string, n int) bool {
	for {
		l.mu.Lock()
		got, wake := l.done[tool], l.wake
		l.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		}
	}
}

func newRecvEnv(t *testing.T, opts sandbox.Options, mods ...func(*server.Config)) *recvEnv {
	t.Helper()
	clk := clockwork.NewFakeClockAt(start)
	opts.Clock, opts.Seed = clk, 1
	sb := sandbox.New(opts)
	t.Cleanup(sb.Close)
	cfg, err := server.ConfigFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel = true, t.TempDir(), "error"
	cfg.Toolsets = []string{"all"}
	cfg.WebhookListen = "127.0.0.1:0"
	// These tests are about receiving, so confirmation is off.
	cfg.ConfirmMode = "off"
	for _, m := range mods {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	tap := &logTap{done: map[string]int{}, wake: make(chan struct{})}
	app, err := server.New(ctx, cfg, server.Options{Clock: clk, Sandbox: sb, Stderr: io.Discard, Logger: slog.New(tap), Version: "test"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = app.Close() })
	srv := httptest.NewServer(app.WebhookHandler())
	t.Cleanup(srv.Close)
	ep, _ := keyguard.ParseBaseURL("")
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret("k"), sb.Transport()), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &recvEnv{t: t, ctx: ctx, app: app, sb: sb, clk: clk, api: api, hookURL: srv.URL + server.WebhookPath, logs: tap}
}

// connect starts an initialized MCP client over "inprocess" or "stdio".
func (e *recvEnv) connect(kind string) *client.Client {
	e.t.Helper()
	return e.connectWith(kind, "", nil)
}

// connectWith starts an initialized MCP client over "inprocess", "stdio" or "sse" with
// client options; version, when set, is the protocol version asked for (mcp-go's client
// otherwise speaks 2026-07-28) and elicitation the capability declared at initialize.
func (e *recvEnv) connectWith(kind, version string, elicitation *mcp.ElicitationCapability, opts ...client.ClientOption) *client.Client {
	e.t.Helper()
	var c *client.Client
	switch kind {
	case "inprocess":
		var err error
		if c, err = client.NewInProcessClientWithOptions(e.app.MCP(), opts...); err != nil {
			e.t.Fatal(err)
		}
	case "stdio":
		clientIn, serverOut := io.Pipe()
		serverIn, clientOut := io.Pipe()
		ctx, cancel := context.WithCancel(e.ctx)
		go func() { _ = mcpserver.NewStdioServer(e.app.MCP()).Listen(ctx, serverIn, serverOut) }()
		e.t.Cleanup(func() { cancel(); _ = serverIn.Close(); _ = serverOut.Close() })
		c = client.NewClient(transport.NewIO(clientIn, clientOut, io.NopCloser(strings.NewReader(""))), opts...)
	case "sse":
		srv := httptest.NewServer(e.app.HTTPHandler("sse"))
		e.t.Cleanup(srv.Close)
		tr, err := transport.NewSSE(srv.URL + "/sse")
		if err != nil {
			e.t.Fatal(err)
		}
		c = client.NewClient(tr, opts...)
	default:
		e.t.Fatalf("unknown transport %q", kind)
	}
	if err := c.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.Capabilities.Elicitation = elicitation
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "recv-test", Version: "1"}
	if _, err := c.Initialize(e.ctx, init); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// res is a decoded tool result.
type res struct {
	isError bool
	text    string
	data    map[string]any
}

func (r res) str(k string) string { s, _ := r.data[k].(string); return s }

func decode(out *mcp.CallToolResult) res {
	var parts []string
	for _, c := range out.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	r := res{isError: out.IsError, text: strings.Join(parts, "\n"), data: map[string]any{}}
	if raw, err := json.Marshal(out.StructuredContent); err == nil {
		_ = json.Unmarshal(raw, &r.data)
	}
	return r
}

// call invokes a tool; progress, when set, is sent as the progress token.
func (e *recvEnv) call(ctx context.Context, c *client.Client, name string, args map[string]any, progress any) (res, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	if progress != nil {
		req.Params.Meta = &mcp.Meta{ProgressToken: progress}
	}
	out, err := c.CallTool(ctx, req)
	if err != nil {
		return res{}, err
	}
	tools.CheckNextStep(e.t, name, out)
	return decode(out), nil
}

func (e *recvEnv) mustCall(c *client.Client, name string, args map[string]any) res {
	e.t.Helper()
	r, err := e.call(e.ctx, c, name, args, nil)
	if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	if r.isError {
		e.t.Fatalf("%s(%v): %s", name, args, r.text)
	}
	return r
}

// confirmed runs a confirm-tier tool through the two-step token.
func (e *recvEnv) confirmed(c *client.Client, name string, args map[string]any) res {
	e.t.Helper()
	first := e.mustCall(c, name, args)
	if first.str("status") != "confirmation_required" {
		return first
	}
	with := map[string]any{"confirmation_token": first.str("confirmation_token")}
	for k, v := range args {
		with[k] = v
	}
	return e.mustCall(c, name, with)
}

// agentWithNumber creates an agent (voice mode hosted or webhook) with one number.
func (e *recvEnv) agentWithNumber(mode apiclient.VoiceMode) (agentID, numberID, number string) {
	e.t.Helper()
	settings := apiclient.AgentSettings{VoiceMode: &mode}
	if mode == apiclient.VoiceModeHosted {
		prompt := "Be brief."
		settings.SystemPrompt = &prompt
	}
	a, err := e.api.CreateAgent(e.ctx, apiclient.CreateAgentRequest{Name: "Desk", AgentSettings: settings})
	if err != nil {
		e.t.Fatal(err)
	}
	n, err := e.api.BuyNumber(e.ctx, apiclient.BuyNumberRequest{AgentID: a.ID, AreaCode: "415"})
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID, n.ID, n.PhoneNumber
}

// drive advances the fake clock by step each time at least n timers wait on it, until done
// is closed. Nothing sleeps: it waits for the code under test to block on the clock.
func (e *recvEnv) drive(done <-chan struct{}, step time.Duration, n int) {
	e.driveWhile(done, step, n, func() bool { return true })
}

// driveSettled is drive that, after each step, lets the sandbox finish the work that came
// due (an auto-reply, a call step), so a waiter never times out on something already due. It
// must not be used while a voice turn is held: that work only ends when the model answers.
func (e *recvEnv) driveSettled(done <-chan struct{}, step time.Duration, n int) {
	e.driveWhile(done, step, n, func() bool {
		if err := e.sb.Settle(e.ctx); err != nil {
			e.t.Fatalf("drive: settle: %v", err)
		}
		return true
	})
}

// driveWhile is drive that advances only while ok() holds; otherwise it waits for done.
func (e *recvEnv) driveWhile(done <-chan struct{}, step time.Duration, n int, ok func() bool) {
	for i := 0; ; i++ {
		if i > 5000 {
			e.t.Fatal("drive: the clock advanced 5000 times without the awaited result")
		}
		ctx, cancel := context.WithCancel(e.ctx)
		blocked := make(chan error, 1)
		go func() { blocked <- e.clk.BlockUntilContext(ctx, n) }()
		select {
		case <-done:
			cancel()
			return
		case err := <-blocked:
			cancel()
			if err != nil {
				e.t.Fatalf("drive: %v", err)
			}
			if !ok() {
				<-done
				return
			}
			e.clk.Advance(step)
		}
	}
}

// progressLog collects progress notifications for one token.
type progressLog struct {
	mu   sync.Mutex
	msgs []string
	got  chan struct{}
}

func watchProgress(c *client.Client, token string) *progressLog {
	p := &progressLog{got: make(chan struct{}, 64)}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationProgress) || n.Params.AdditionalFields["progressToken"] != token {
			return
		}
		msg, _ := n.Params.AdditionalFields["message"].(string)
		p.mu.Lock()
		p.msgs = append(p.msgs, msg)
		p.mu.Unlock()
		select {
		case p.got <- struct{}{}:
		default:
		}
	})
	return p
}

func (p *progressLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.msgs...)
}
