package interop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// binary is agentphone-mcp, built once from the repository root.
var binary string

// Bounds the servers under test run with: short, so the suite is quick, and the same code
// paths as the defaults (50 s and 2 min).
const (
	toolTimeout   = 3 * time.Second
	elicitTimeout = 2 * time.Second
	// clientTimeout is what many clients allow one tool call (the TypeScript SDK's default).
	clientTimeout = 60 * time.Second
	// daytime pins the sandbox clock inside calling hours in every US time zone.
	daytime = "2026-06-16T20:00:00Z"
)

var (
	versions   = []string{"2025-06-18", "2025-11-25", "2026-07-28"}
	transports = []string{"stdio", "http", "sse"}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentphone-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "agentphone-mcp")
	build := exec.Command("go", "build", "-o", binary, "./cmd/agentphone-mcp")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 && table.complete() {
		if err := table.checkREADME(filepath.Join("..", "README.md"), os.Getenv("UPDATE_INTEROP") == "1"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// serverEnv is the environment of a sandbox-mode server with its own state dir. Every case
// confirms a number purchase, so the policy file lifts the daily purchase cap (3 by default).
func serverEnv(t *testing.T) []string {
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"limits": {"numbers_bought_day": -1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(),
		"AGENTPHONE_API_KEY=", "AGENTPHONE_SANDBOX=true", "AGENTPHONE_STATE_DIR="+filepath.Join(dir, "state"),
		"AGENTPHONE_POLICY_FILE="+policyFile,
		"AGENTPHONE_SANDBOX_NOW="+daytime, "AGENTPHONE_LOG_LEVEL=warn", "AGENTPHONE_TOOLSETS=all",
		"AGENTPHONE_CONFIRM_MODE=auto", "AGENTPHONE_TOOL_TIMEOUT="+toolTimeout.String(),
		"AGENTPHONE_ELICIT_TIMEOUT="+elicitTimeout.String())
}

// endpoint is where a client reaches a server: a new process per stdio session, one shared
// HTTP server for the http and sse transports.
type endpoint struct {
	t         *testing.T
	transport string
	base      string // http://host:port for http and sse
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)/`)

func newEndpoint(t *testing.T, transport string) *endpoint {
	t.Helper()
	ep := &endpoint{t: t, transport: transport}
	if transport == "stdio" {
		return ep
	}
	cmd := exec.Command(binary, "--transport", transport, "--listen", "127.0.0.1:0")
	cmd.Env = serverEnv(t)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case ep.base = <-found:
	case <-time.After(20 * time.Second):
		t.Fatal("the HTTP server did not say where it listens")
	}
	return ep
}

// connect opens a Go SDK client session at the protocol version asked for.
func (ep *endpoint) connect(version string, opts *mcp.ClientOptions) *mcp.ClientSession {
	ep.t.Helper()
	var tr mcp.Transport
	switch ep.transport {
	case "stdio":
		cmd := exec.Command(binary)
		cmd.Env = serverEnv(ep.t)
		tr = &mcp.CommandTransport{Command: cmd}
	case "http":
		tr = &mcp.StreamableClientTransport{Endpoint: ep.base + "/mcp"}
	case "sse":
		tr = &mcp.SSEClientTransport{Endpoint: ep.base + "/sse"}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "interop", Version: "1"}, opts)
	// The SSE client ties its event stream to this context: it lives as long as the test.
	cs, err := client.Connect(context.Background(), tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		ep.t.Fatalf("connect over %s at %s: %v", ep.transport, version, err)
	}
	ep.t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// result is a decoded tool result.
type result struct {
	isError bool
	text    string
	data    map[string]any
}

func (r result) str(k string) string { s, _ := r.data[k].(string); return s }

// call runs a tool within ctx; a protocol (JSON-RPC) error is returned as err.
func call(ctx context.Context, cs *mcp.ClientSession, name string, args map[string]any, progressToken any) (result, error) {
	p := &mcp.CallToolParams{Name: name, Arguments: args}
	if progressToken != nil {
		p.SetProgressToken(progressToken)
	}
	res, err := cs.CallTool(ctx, p)
	if err != nil {
		return result{}, err
	}
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	r := result{isError: res.IsError, text: strings.Join(parts, "\n"), data: map[string]any{}}
	if m, ok := res.StructuredContent.(map[string]any); ok {
		r.data = m
	}
	return r, nil
}

func mustCall(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	r, err := call(ctx, cs, name, args, nil)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	if r.isError {
		t.Fatalf("%s(%v): %s", name, args, r.text)
	}
	return r
}

// form is a client-side elicitation handler that records the forms it was shown.
type form struct {
	shown  atomic.Int32
	answer func(ctx context.Context, code string) (*mcp.ElicitResult, error)
}

var codeInForm = regexp.MustCompile(`type (\d{3})\.`)

func (f *form) handle(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	f.shown.Add(1)
	code := ""
	if m := codeInForm.FindStringSubmatch(req.Params.Message); m != nil {
		code = m[1]
	}
	return f.answer(ctx, code)
}

// confirmCase is one way a client can meet a confirmation (buy_number: the spend rule).
type confirmCase struct {
	name   string
	answer func(ctx context.Context, code string) (*mcp.ElicitResult, error) // nil: no elicitation handler
	caps   *mcp.ClientCapabilities
	wait   time.Duration // how long the client waits for the tool result
}

var confirmCases = []confirmCase{
	{name: "confirm, no elicitation"},
	{name: "form: accept", answer: func(_ context.Context, code string) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": true, "code": code}}, nil
	}},
	{name: "form: decline", answer: func(context.Context, string) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "decline"}, nil
	}},
	{name: "form: cancel", answer: func(context.Context, string) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "cancel"}, nil
	}},
	{name: "form: error", answer: func(context.Context, string) (*mcp.ElicitResult, error) {
		return nil, errors.New("no user interface here")
	}},
	{name: "form: no answer", answer: func(ctx context.Context, _ string) (*mcp.ElicitResult, error) {
		// The user walks away; the client gives up on its own much later (the server does
		// not cancel its request, so the handler must not wait forever or Close would).
		select {
		case <-ctx.Done():
		case <-time.After(3 * elicitTimeout):
		}
		return &mcp.ElicitResult{Action: "cancel"}, nil
	}, wait: 2 * elicitTimeout},
	{name: "URL-mode-only client", answer: func(context.Context, string) (*mcp.ElicitResult, error) {
		return nil, errors.New("a URL-only client was sent a form")
	}, caps: &mcp.ClientCapabilities{Elicitation: &mcp.ElicitationCapabilities{URL: &mcp.URLElicitationCapabilities{}}}},
}

// TestInterop runs every case over every transport at every protocol version and records
// what happened in the README's table.
func TestInterop(t *testing.T) {
	// Cleanup runs once every parallel subtest is over.
	t.Cleanup(func() {
		if !t.Failed() {
			table.markComplete()
		}
	})
	for _, tr := range transports {
		for _, v := range versions {
			t.Run(tr+"/"+v, func(t *testing.T) {
				t.Parallel()
				ep := newEndpoint(t, tr)
				for _, cc := range confirmCases {
					t.Run(cc.name, func(t *testing.T) {
						table.set(v, cc.name, tr, runConfirm(t, ep, v, cc))
					})
				}
				t.Run("long wait", func(t *testing.T) {
					table.set(v, "long wait, 60 s client limit", tr, runLongWait(t, ep, v))
				})
			})
		}
	}
}

// runConfirm buys a number through the case's client and returns what happened, as the
// table shows it. Whatever the client does, the server answers with a tool result: for a
// client before 2026-07-28 never a protocol error, never a hang; nothing is bought unless a
// human confirmed; a URL-only client and the SSE transport are never sent a form.
func runConfirm(t *testing.T, ep *endpoint, version string, cc confirmCase) string {
	f := &form{answer: cc.answer}
	opts := &mcp.ClientOptions{}
	if cc.answer != nil {
		opts.ElicitationHandler = f.handle
	}
	if cc.caps != nil {
		opts.Capabilities = cc.caps
	}
	cs := ep.connect(version, opts)
	agent := mustCall(t, cs, "create_agent", map[string]any{"name": "Interop " + cc.name})
	args := map[string]any{"agent_id": agent.str("id"), "area_code": "212"}
	wait := cc.wait
	if wait == 0 {
		wait = clientTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	began := time.Now()
	r, err := call(ctx, cs, "buy_number", args, nil)
	took := time.Since(began)
	modern := version >= "2026-07-28"
	shown := f.shown.Load() > 0
	if cc.caps != nil && shown {
		t.Fatal("a URL-mode-only client was sent a form")
	}
	if ep.transport == "sse" && !modern && shown {
		t.Fatal("a form went over SSE, whose session cannot carry one")
	}
	if err != nil {
		// Only a 2026-07-28 client's own handler can fail the call: it fulfils the form itself.
		if !modern {
			t.Fatalf("a protocol error instead of a tool result: %v", err)
		}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return "form left open by the client (2026-07-28: the client holds it)"
		default:
			return "client's own form error (2026-07-28: the client fulfils the form)"
		}
	}
	if took > elicitTimeout+toolTimeout+2*time.Second {
		t.Fatalf("buy_number took %s", took)
	}
	prefix := "token"
	if shown {
		prefix = "form"
	}
	switch status := r.str("status"); {
	case strings.HasPrefix(r.str("id"), "num_") && !r.isError:
		if !shown {
			t.Fatalf("bought without confirmation: %s", r.text)
		}
		return "form → done"
	case status == "not_approved":
		return "form → not approved (" + r.str("action") + ")"
	case status == "confirmation_required":
		tok := r.str("confirmation_token")
		if tok == "" {
			t.Fatalf("no token: %s", r.text)
		}
		args["confirmation_token"] = tok
		done := mustCall(t, cs, "buy_number", args)
		if !strings.HasPrefix(done.str("id"), "num_") {
			t.Fatalf("the token did not confirm: %s", done.text)
		}
		if shown {
			return "form failed → token → done"
		}
		return prefix + " → done"
	default:
		t.Fatalf("unexpected result: %s", r.text)
		return ""
	}
}

// runLongWait places a call that lasts longer than one tool call may and waits for it the
// way a client with a 60 s limit must: every wait_for_call returns well within the limit
// (within the server's bound), says how to continue, reports progress before its result,
// and the call completes over the resumed waits.
func runLongWait(t *testing.T, ep *endpoint, version string) string {
	var mu sync.Mutex
	returned := map[string]bool{}
	before, after := map[string]int{}, 0
	opts := &mcp.ClientOptions{ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
		tok := fmt.Sprint(req.Params.ProgressToken)
		mu.Lock()
		defer mu.Unlock()
		if returned[tok] {
			after++
		} else {
			before[tok]++
		}
	}}
	cs := ep.connect(version, opts)
	agent := mustCall(t, cs, "create_agent", map[string]any{"name": "Interop caller"})
	buy := map[string]any{"agent_id": agent.str("id"), "area_code": "415"}
	first := mustCall(t, cs, "buy_number", buy)
	buy["confirmation_token"] = first.str("confirmation_token")
	mustCall(t, cs, "buy_number", buy)
	place := map[string]any{"agent_id": agent.str("id"), "to_number": "+14155550142", "topic": "Confirm the cleaning on Tuesday at 3 pm"}
	first = mustCall(t, cs, "make_call", place)
	if tok := first.str("confirmation_token"); tok != "" {
		place["confirmation_token"] = tok
		first = mustCall(t, cs, "make_call", place)
	}
	callID := first.str("id")
	if !strings.HasPrefix(callID, "call_") {
		t.Fatalf("make_call: %s", first.text)
	}
	rounds := 0
	var last result
	var longest time.Duration
	for ; rounds < 40; rounds++ {
		tok := fmt.Sprintf("wait-%d", rounds)
		ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
		began := time.Now()
		r, err := call(ctx, cs, "wait_for_call", map[string]any{"call_id": callID}, tok)
		took := time.Since(began)
		cancel()
		mu.Lock()
		returned[tok] = true
		got := before[tok]
		mu.Unlock()
		if err != nil || r.isError {
			t.Fatalf("wait_for_call round %d: %v %s", rounds, err, r.text)
		}
		longest = max(longest, took)
		if took > toolTimeout+time.Second {
			t.Fatalf("wait_for_call took %s; the server's bound is %s", took, toolTimeout)
		}
		if got == 0 {
			t.Fatalf("round %d: no progress notification before the result", rounds)
		}
		last = r
		if r.str("wait") != "in_progress" {
			break
		}
		if !strings.Contains(r.text, "wait_for_call with call_id "+callID) {
			t.Fatalf("an unfinished wait must say how to continue: %s", r.text)
		}
	}
	if last.str("status") != "completed" {
		t.Fatalf("the call did not complete: %s", last.text)
	}
	if rounds < 1 {
		t.Fatalf("the call ended within one %s wait; the case needs a longer call", toolTimeout)
	}
	t.Logf("%d waits, the longest %s (server bound %s)", rounds+1, longest.Round(time.Millisecond), toolTimeout)
	if after > 0 {
		t.Logf("%d progress notifications arrived after their result (transport ordering)", after)
	}
	return "done by resume; progress before each result"
}
