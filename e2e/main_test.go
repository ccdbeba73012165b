// Package e2e builds the agentphone-mcp binary and drives it through mcp-go's client over
// stdio, Streamable HTTP and SSE, on the sandbox and against a simulated API on loopback.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// binary is the agentphone-mcp built once for the whole package.
var binary string

// daytime pins the sandbox clock inside calling hours in every US time zone (Tuesday 16:00
// in New York, 10:00 in Honolulu), so results never depend on when the tests run.
const daytime = "2026-06-16T20:00:00Z"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentphone-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "agentphone-mcp")
	build := exec.Command("go", "build", "-o", binary, "../cmd/agentphone-mcp")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// sandboxEnv is the environment of a sandbox-mode server with its own state dir.
func sandboxEnv(t testing.TB, extra ...string) []string {
	env := []string{
		"AGENTPHONE_API_KEY=", "AGENTPHONE_STATE_DIR=" + t.TempDir(), "AGENTPHONE_SANDBOX_NOW=" + daytime,
		"AGENTPHONE_LOG_LEVEL=warn", "AGENTPHONE_TOOLSETS=all", "AGENTPHONE_CONFIRM_MODE=auto",
	}
	return append(env, extra...)
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startStdio runs the binary as a stdio server and returns an initialized client.
func startStdio(t testing.TB, env []string, args ...string) *client.Client {
	t.Helper()
	return startStdioLogged(t, io.Discard, env, args...)
}

// startStdioLogged is startStdio with the server's stderr copied to w.
func startStdioLogged(t testing.TB, w io.Writer, env []string, args ...string) *client.Client {
	t.Helper()
	c, err := client.NewStdioMCPClientWithOptions(binary, env, args, transport.WithCommandStderrWriter(w))
	if err != nil {
		t.Fatalf("start the stdio server: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// NewStdioMCPClientWithOptions starts the transport but not the client, which is what
	// routes server notifications to OnNotification handlers; Start is idempotent.
	if err := c.Start(ctxFor(t)); err != nil {
		t.Fatalf("start the stdio client: %v", err)
	}
	initialize(t, c)
	return c
}

// connectHTTP starts an initialized Streamable HTTP client for the server (or load
// balancer) at base.
func connectHTTP(t testing.TB, base string) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(base + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	if err := c.Start(ctxFor(t)); err != nil {
		t.Fatalf("start a client for %s: %v", base, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c)
	return c
}

// startHTTP runs the binary with an HTTP transport on a free loopback port and returns an
// initialized client for it.
func startHTTP(t testing.TB, kind string, env []string, args ...string) *client.Client {
	t.Helper()
	base := startHTTPServer(t, kind, env, args...)
	var tr transport.Interface
	var err error
	if kind == "http" {
		tr, err = transport.NewStreamableHTTP(base + "/mcp")
	} else {
		tr, err = transport.NewSSE(base + "/sse")
	}
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	if err := c.Start(ctxFor(t)); err != nil {
		t.Fatalf("start the %s client: %v", kind, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c)
	return c
}

var listening = regexp.MustCompile(`listening on (http://[0-9.:]+)/`)

// startHTTPServer starts the binary on an HTTP transport and returns its base URL.
func startHTTPServer(t testing.TB, kind string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--transport", kind, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
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
	case u := <-found:
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("the HTTP server did not say where it listens")
		return ""
	}
}

func initialize(t testing.TB, c *client.Client) *mcp.InitializeResult {
	t.Helper()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
	res, err := c.Initialize(ctxFor(t), req)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return res
}

// result is a decoded tool result.
type result struct {
	isError bool
	text    string
	data    map[string]any
}

func (r result) str(k string) string { s, _ := r.data[k].(string); return s }

func callTool(t testing.TB, c *client.Client, name string, args map[string]any) result {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctxFor(t), req)
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	var parts []string
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	r := result{isError: res.IsError, text: strings.Join(parts, "\n"), data: map[string]any{}}
	if raw, err := json.Marshal(res.StructuredContent); err == nil {
		_ = json.Unmarshal(raw, &r.data)
	}
	return r
}

func mustOK(t testing.TB, r result, what string) result {
	t.Helper()
	if r.isError {
		t.Fatalf("%s: unexpected isError: %s", what, r.text)
	}
	return r
}

// confirmed runs a confirm-tier call through the two-step token and returns the executed result.
func confirmed(t testing.TB, c *client.Client, name string, args map[string]any) result {
	t.Helper()
	first := callTool(t, c, name, args)
	if first.str("status") != "confirmation_required" {
		return mustOK(t, first, name)
	}
	return mustOK(t, callTool(t, c, name, with(args, "confirmation_token", first.str("confirmation_token"))), name+" (confirmed)")
}

func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// lockedBuffer is an io.Writer safe for the concurrent writes of exec.Cmd.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*lockedBuffer)(nil)
