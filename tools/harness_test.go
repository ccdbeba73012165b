package tools

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// toolEnv is every tool wired to an in-process sandbox, a real policy engine on a temporary
// store, and a fake clock (15:00 UTC on a Tuesday: inside calling hours across the US).
type toolEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *clockwork.FakeClock
	sb    *sandbox.Sandbox
	deps  *Deps
	tools map[string]Tool
	hooks *hookRecorder
}

// hookRecorder answers webhook deliveries in-process with 200, counting them.
type hookRecorder struct{ bodies chan string }

func (h *hookRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	select {
	case h.bodies <- string(b):
	default:
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

func newToolEnv(t *testing.T) *toolEnv {
	t.Helper()
	clk := clockwork.NewFakeClockAt(time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC))
	hooks := &hookRecorder{bodies: make(chan string, 64)}
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1, WebhookClient: &http.Client{Transport: hooks}})
	t.Cleanup(sb.Close)
	ep, err := keyguard.ParseBaseURL("")
	if err != nil {
		t.Fatal(err)
	}
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret("k"), sb.Transport()),
		Clock: clk, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := policy.New(policy.Config{ConfirmMode: ConfirmAuto, DefaultRegion: "US"}, policy.Deps{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	d := &Deps{API: api, Policy: eng, ConfirmMode: ConfirmAuto, DefaultRegion: "US", Principal: "test", Clock: clk, Sandbox: true}
	env := &toolEnv{t: t, ctx: context.Background(), clock: clk, sb: sb, deps: d, tools: map[string]Tool{}, hooks: hooks}
	for _, tl := range All(d) {
		env.tools[tl.Def.Name] = tl
	}
	return env
}

// call runs a tool's handler with args, as the MCP server would.
func (e *toolEnv) call(name string, args map[string]any) *mcp.CallToolResult {
	e.t.Helper()
	tl, ok := e.tools[name]
	if !ok {
		e.t.Fatalf("no tool %q", name)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := tl.Handler(e.ctx, req)
	if err != nil {
		e.t.Fatalf("%s returned a Go error: %v", name, err)
	}
	if res == nil {
		e.t.Fatalf("%s returned no result", name)
	}
	checkNextStep(e.t, name, res)
	return res
}

// ok calls a tool and fails the test on an isError result.
func (e *toolEnv) ok(name string, args map[string]any) (string, map[string]any) {
	e.t.Helper()
	res := e.call(name, args)
	if res.IsError {
		e.t.Fatalf("%s(%v) failed: %s", name, args, textOf(res))
	}
	return textOf(res), structOf(e.t, res)
}

// fails calls a tool and fails the test unless the result is isError.
func (e *toolEnv) fails(name string, args map[string]any) (string, map[string]any) {
	e.t.Helper()
	res := e.call(name, args)
	if !res.IsError {
		e.t.Fatalf("%s(%v) succeeded, want an error: %s", name, args, textOf(res))
	}
	return textOf(res), structOf(e.t, res)
}

// confirmed calls a confirm-tier tool twice: first for the token, then with it.
func (e *toolEnv) confirmed(name string, args map[string]any) (string, map[string]any) {
	e.t.Helper()
	_, first := e.ok(name, args)
	if first["status"] != "confirmation_required" {
		e.t.Fatalf("%s: first call status %v, want confirmation_required", name, first["status"])
	}
	tok, _ := first["confirmation_token"].(string)
	with := map[string]any{"confirmation_token": tok}
	for k, v := range args {
		with[k] = v
	}
	return e.ok(name, with)
}

func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func structOf(t *testing.T, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatalf("structuredContent does not encode: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("structuredContent is not an object: %s", raw)
	}
	return m
}

// items returns a list result's structured items.
func items(t *testing.T, data map[string]any) []map[string]any {
	t.Helper()
	raw, ok := data["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", data)
	}
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		out = append(out, r.(map[string]any))
	}
	return out
}

// seed creates an agent and a number attached to it through the API.
func (e *toolEnv) seed(name string) (*apiclient.Agent, *apiclient.Number) {
	e.t.Helper()
	prompt := "Answer questions about opening hours."
	mode := apiclient.VoiceModeHosted
	a, err := e.deps.API.CreateAgent(e.ctx, apiclient.CreateAgentRequest{Name: name, AgentSettings: apiclient.AgentSettings{VoiceMode: &mode, SystemPrompt: &prompt}})
	if err != nil {
		e.t.Fatal(err)
	}
	n, err := e.deps.API.BuyNumber(e.ctx, apiclient.BuyNumberRequest{Country: "US", AreaCode: "415", AgentID: a.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return a, n
}

// settle advances the fake clock by d and waits for the sandbox's background work.
func (e *toolEnv) settle(d time.Duration) {
	e.t.Helper()
	for step := time.Second; d > 0; d -= step {
		e.clock.Advance(min(step, d))
		if err := e.sb.Settle(e.ctx); err != nil {
			e.t.Fatal(err)
		}
	}
}

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("missing %q in:\n%s", w, s)
		}
	}
}

func mustNotContain(t *testing.T, s string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(s, b) {
			t.Errorf("must not contain %q:\n%s", b, s)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var apiListAll = apiclient.ListParams{Limit: 100}
