package server

// Caller-key mode (AGENTPHONE_KEY_MODE=caller): each HTTP client's bearer is its own
// AgentPhone key. These tests run the App over real HTTP against a sandbox serving two
// accounts (one per key) over real HTTP too, so every request of a caller really carries
// its own key to the API.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	ptext "github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

const (
	callerKeyA = "sk_test_caller_alpha_0123456789abcdef"
	callerKeyB = "sk_test_caller_bravo_fedcba9876543210"
)

// lockedBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// callerHarness is an App in caller mode over HTTP in front of a two-account sandbox API.
type callerHarness struct {
	*harness
	front  *sandbox.Sandbox
	mcpURL string
	stderr *lockedBuffer
	down   atomic.Bool // the API answers 503 to everything
	// stateless makes connectAs use 2026-07-28 (no session) instead of 2025-11-25.
	stateless bool

	mu    sync.Mutex
	usage map[string]int // GET /v1/usage by bearer
}

func newCallerHarness(t *testing.T, mods ...func(*Config)) *callerHarness {
	t.Helper()
	h := &callerHarness{stderr: &lockedBuffer{}, usage: map[string]int{}}
	env := startCallerApp(t, h.stderr, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/v1/usage" {
				h.mu.Lock()
				h.usage[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]++
				h.mu.Unlock()
			}
			if h.down.Load() {
				http.Error(w, `{"detail":"unavailable"}`, http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, mods...)
	h.front, h.mcpURL = env.front, env.mcpURL
	h.harness = &harness{t: t, ctx: env.ctx, app: env.app, sb: env.front, clk: env.clk, cfg: env.app.cfg}
	return h
}

// callerEnv is an App in caller mode serving HTTP in front of a two-account sandbox API
// reached over real HTTP.
type callerEnv struct {
	ctx    context.Context
	app    *App
	front  *sandbox.Sandbox
	clk    *clockwork.FakeClock
	apiURL string
	mcpURL string
}

// startCallerApp starts it; wrap (may be nil) wraps the API's handler; mods adjust the
// configuration (KeyMode may be set back to operator by a benchmark).
func startCallerApp(tb testing.TB, stderr io.Writer, wrap func(http.Handler) http.Handler, mods ...func(*Config)) callerEnv {
	tb.Helper()
	clk := clockwork.NewFakeClockAt(testStart)
	front := sandbox.New(sandbox.Options{Clock: clk, Seed: 1, Accounts: map[string]string{callerKeyA: "alpha", callerKeyB: "bravo"}})
	tb.Cleanup(front.Close)
	var handler http.Handler = front
	if wrap != nil {
		handler = wrap(front)
	}
	api := httptest.NewServer(handler)
	tb.Cleanup(api.Close)
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Transport, cfg.KeyMode, cfg.StateDir, cfg.LogLevel = "http", KeyModeCaller, tb.TempDir(), "debug"
	cfg.BaseURL, cfg.SigningKeyFile = api.URL, writeKeyTB(tb, "0123456789abcdef0123456789abcdef-caller-mode")
	cfg.Toolsets = []string{"all"}
	var secrets Secrets
	for _, m := range mods {
		m(&cfg)
	}
	if cfg.KeyMode == KeyModeOperator {
		secrets.APIKey = keyguard.NewSecret(callerKeyA)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	tb.Cleanup(cancel)
	app, err := New(ctx, cfg, Options{Clock: clk, Stderr: stderr, Version: "test", Secrets: secrets})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = app.Close() })
	srv := httptest.NewServer(app.HTTPHandler("http"))
	tb.Cleanup(srv.Close)
	return callerEnv{ctx: ctx, app: app, front: front, clk: clk, apiURL: api.URL, mcpURL: srv.URL + "/mcp"}
}

func writeKeyTB(tb testing.TB, body string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "signing.key")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// connectAs opens an initialized Streamable HTTP session with key as the bearer, at the
// newest protocol revision with sessions (2025-11-25), or at 2026-07-28 (stateless: every
// request stands alone) when h.stateless is set.
func (h *callerHarness) connectAs(key string) *client.Client {
	h.t.Helper()
	tr, err := transport.NewStreamableHTTP(h.mcpURL, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + key}))
	if err != nil {
		h.t.Fatal(err)
	}
	c := client.NewClient(tr)
	if err := c.Start(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "caller", Version: "1"}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	if h.stateless {
		init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	}
	res, err := c.Initialize(h.ctx, init)
	if err != nil {
		h.t.Fatalf("initialize: %v", err)
	}
	if (c.GetSessionId() == "") != h.stateless || res.ProtocolVersion != init.Params.ProtocolVersion {
		h.t.Fatalf("initialize at %s: got %s, session %q", init.Params.ProtocolVersion, res.ProtocolVersion, c.GetSessionId())
	}
	return c
}

func (h *callerHarness) usageAsked(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.usage[key]
}

// sentBy counts the messages in the conversations of key's account, asking the sandbox
// directly (the test's view of what really went out).
func (h *callerHarness) sentBy(key string) int {
	h.t.Helper()
	ep, _ := keyguard.ParseBaseURL("")
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret(key), h.front.Transport()), Clock: h.clk})
	if err != nil {
		h.t.Fatal(err)
	}
	page, err := api.ListConversations(h.ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, c := range page.Data {
		n += c.MessageCount
	}
	return n
}

// post sends one raw request to /mcp with bearer.
func (h *callerHarness) post(bearer string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp
}

// readResource reads uri; it returns the text or the error.
func readResource(ctx context.Context, c *client.Client, uri string) (string, error) {
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := c.ReadResource(ctx, req)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, content := range res.Contents {
		if tc, ok := content.(mcp.TextResourceContents); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), nil
}

// assertNoKeyLeak fails if any of keys, or any 8-character run of one, appears in text.
func assertNoKeyLeak(t *testing.T, what, text string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		k = ptext.SecretPart(k) // the type tag ("sk_test_") is public
		for i := 0; i+8 <= len(k); i++ {
			if frag := k[i : i+8]; strings.Contains(text, frag) {
				t.Fatalf("%s carries a fragment %q of a caller's key", what, frag)
			}
		}
	}
}

// TestCallersAreIsolated: two callers, two accounts. Each sees only its own numbers and
// messages; a token issued to A is refused for B; B cannot wait on A's call or reply, read
// A's resources, or be stopped by A's opt-out.
func TestCallersAreIsolated(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		name := "sessions"
		if stateless {
			name = "stateless"
		}
		t.Run(name, func(t *testing.T) { testCallersAreIsolated(t, stateless) })
	}
}

func testCallersAreIsolated(t *testing.T, stateless bool) {
	h := newCallerHarness(t)
	h.stateless = stateless
	a, b := h.connectAs(callerKeyA), h.connectAs(callerKeyB)

	agentA, numIDA, numberA := h.setupAgentWithNumber(a)
	agentB, _, numberB := h.setupAgentWithNumber(b)
	if numberA == numberB {
		t.Fatal("both accounts got the same number")
	}
	listed := h.mustOK(h.call(b, "list_numbers", map[string]any{}), "B lists numbers")
	if strings.Contains(listed.text, numberA) || !strings.Contains(listed.text, numberB) {
		t.Fatalf("B's numbers: want only %s, got %s", numberB, listed.text)
	}

	const to = "+14155550142"
	first := h.call(a, "send_sms", sms(agentA, to, "Your table is ready."))
	tokA := first.str("confirmation_token")
	if tokA == "" {
		t.Fatalf("A's first text: want a confirmation token, got %s", first.text)
	}
	// B presents A's token, for B's own agent and for A's agent: refused, nothing sent.
	for _, args := range []map[string]any{sms(agentB, to, "Your table is ready."), sms(agentA, to, "Your table is ready.")} {
		args["confirmation_token"] = tokA
		if r := h.call(b, "send_sms", args); !r.isError && r.str("status") != "confirmation_required" {
			t.Fatalf("B redeemed A's token: %s", r.text)
		}
	}
	if n := h.sentBy(callerKeyB); n != 0 {
		t.Fatalf("B's account sent %d messages with A's token", n)
	}
	args := sms(agentA, to, "Your table is ready.")
	args["confirmation_token"] = tokA
	sent := h.mustOK(h.call(a, "send_sms", args), "A redeems its own token")
	convA := sent.str("conversation_id")

	// B sees nothing of A: messages, conversation, waits, resources.
	if r := h.call(b, "list_conversations", map[string]any{}); strings.Contains(r.text, to) || strings.Contains(r.text, convA) && convA != "" {
		t.Fatalf("B lists A's conversation: %s", r.text)
	}
	if convA != "" {
		if r := h.call(b, "get_conversation", map[string]any{"conversation_id": convA}); !r.isError {
			t.Fatalf("B reads A's conversation: %s", r.text)
		}
		if r := h.call(b, "wait_for_reply", map[string]any{"conversation_id": convA, "timeout_seconds": 1}); !r.isError {
			t.Fatalf("B waits on A's conversation: %s", r.text)
		}
		if _, err := readResource(h.ctx, b, "agentphone://conversations/"+convA); err == nil {
			t.Fatal("B reads A's conversation resource")
		}
	}
	if r := h.call(b, "list_messages", map[string]any{"number_id": numIDA}); !r.isError && strings.Contains(r.text, "table is ready") {
		t.Fatalf("B reads A's number's messages: %s", r.text)
	}
	callA := h.confirm(a, "make_call", dial(agentA, "+14155550150"))
	callID := callA.str("id")
	if callID == "" {
		callID = callA.str("call_id")
	}
	if callID == "" {
		t.Fatalf("A's call has no id: %v", callA.data)
	}
	if r := h.call(b, "wait_for_call", map[string]any{"call_id": callID, "timeout_seconds": 1}); !r.isError {
		t.Fatalf("B waits on A's call: %s", r.text)
	}
	if _, err := readResource(h.ctx, b, "agentphone://calls/"+callID); err == nil {
		t.Fatal("B reads A's call resource")
	}
	inboxB, err := readResource(h.ctx, b, ResourceNumbers)
	if err != nil || strings.Contains(inboxB, numberA) || !strings.Contains(inboxB, numberB) {
		t.Fatalf("B's numbers resource: %v %s", err, inboxB)
	}

	// A's recipient says STOP to A: A may not text them again; B still may (after its own
	// first-contact confirmation), because the opt-out is A's.
	if _, err := h.front.Account(callerKeyA).InjectInboundSMS(to, numberA, "STOP"); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, h.call(a, "send_sms", sms(agentA, to, "Are you coming?")), "opted_out", "A after its recipient's STOP")
	h.confirm(b, "send_sms", sms(agentB, to, "Hello from B"))

	// Each account's audit log is its own, and names no key.
	dirs, _ := filepath.Glob(filepath.Join(h.cfg.StateDir, callerAccountsDir, "*", "audit.jsonl"))
	if len(dirs) != 2 {
		t.Fatalf("want one audit log per account, got %v", dirs)
	}
	for _, p := range dirs {
		body, _ := os.ReadFile(p)
		assertNoKeyLeak(t, p, string(body), callerKeyA, callerKeyB)
	}
	// Nothing on stderr or on disk carries a key or a fragment of one.
	assertNoKeyLeak(t, "stderr", h.stderr.String(), callerKeyA, callerKeyB)
	_ = filepath.Walk(h.cfg.StateDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			body, _ := os.ReadFile(p)
			assertNoKeyLeak(t, p, string(body), callerKeyA, callerKeyB)
		}
		return nil
	})
}

// TestCallerTokenNotAcrossAccountsStateless: 2026-07-28 stateless requests (no session) are
// named by their caller's account: a token issued to A's stateless request is refused for B's.
func TestCallerGlobalCapAcrossCallers(t *testing.T) {
	pf := writePolicyFile(t, `{"global_limits": {"sms_day": 1}}`)
	h := newCallerHarness(t, func(c *Config) { c.PolicyFile, c.ConfirmMode = pf, "off" })
	a, b := h.connectAs(callerKeyA), h.connectAs(callerKeyB)
	agentA, _, _ := h.setupAgentWithNumber(a)
	agentB, _, _ := h.setupAgentWithNumber(b)
	h.mustOK(h.call(a, "send_sms", sms(agentA, "+14155550160", "one")), "A's text within the global cap")
	mustDeny(t, h.call(b, "send_sms", sms(agentB, "+14155550161", "two")), "global_limit", "B's text over the operator's global cap")
	mustDeny(t, h.call(a, "send_sms", sms(agentA, "+14155550162", "three")), "global_limit", "A's second text over the global cap")
	if n := h.sentBy(callerKeyB); n != 0 {
		t.Fatalf("B's account sent %d texts over the global cap", n)
	}
	// The ledger metric counts every caller's account (the operator's own has nothing).
	if n := gathered(t, h.app, "agentphone_ledger_entries", "sent"); n < 3 {
		t.Fatalf("agentphone_ledger_entries{state=sent} = %v, want the callers' entries (at least A's text and both numbers)", n)
	}
}

// TestCallerWrongKey: a key the API refuses gets 401 with WWW-Authenticate and no session;
// the API is asked once (the refusal is remembered), a malformed bearer not at all, and
// repeated wrong keys from one address are slowed down (429).
func TestCallerWrongKey(t *testing.T) {
	h := newCallerHarness(t)
	const wrong = "sk_test_caller_wrong_key_00000000000"
	for i := range 2 {
		resp := h.post(wrong)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") || resp.Header.Get("Mcp-Session-Id") != "" {
			t.Fatalf("wrong key, attempt %d: status %d, WWW-Authenticate %q, session %q", i+1, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Mcp-Session-Id"))
		}
	}
	if n := h.usageAsked(wrong); n != 1 {
		t.Fatalf("the API was asked %d times about the wrong key, want 1 (the refusal is remembered)", n)
	}
	if n := gathered(t, h.app, "agentphone_caller_verifications_total", "refused"); n != 1 {
		t.Fatalf("agentphone_caller_verifications_total{result=refused} = %v, want 1", n)
	}
	if resp := h.post("short"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third wrong bearer from one address: status %d, want 429", resp.StatusCode)
	}
	if h.usageAsked("short") != 0 {
		t.Fatal("a malformed bearer was sent to the API")
	}
	h.clk.Advance(callerRejectedFor + time.Hour)
	if resp := h.post(""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no bearer: status %d, want 401", resp.StatusCode)
	}
	assertNoKeyLeak(t, "stderr", h.stderr.String(), wrong)
}

// TestCallerVerificationCachedAndFailsClosed: a valid key is verified once for many requests;
// while the API cannot be reached a new key gets 503 (not 401, not admitted), and is admitted
// once the API answers.
func TestCallerVerificationCachedAndFailsClosed(t *testing.T) {
	h := newCallerHarness(t)
	a := h.connectAs(callerKeyA)
	for range 5 {
		h.mustOK(h.call(a, "list_agents", map[string]any{}), "list_agents")
	}
	if n := h.usageAsked(callerKeyA); n != 1 {
		t.Fatalf("the key was verified %d times for 6 requests, want 1", n)
	}
	// Any AgentPhone key is a valid bearer here: the operator's metrics are not behind it.
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(h.mcpURL, "/mcp")+MetricsPath, nil)
	req.Header.Set("Authorization", "Bearer "+callerKeyA)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode == http.StatusOK {
		t.Fatalf("/metrics on the MCP listener in caller mode: %v %v, want not served", err, resp)
	} else {
		resp.Body.Close()
	}
	h.down.Store(true)
	if resp := h.post(callerKeyB); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("verification with the API down: status %d, want 503 with Retry-After", resp.StatusCode)
	}
	h.down.Store(false)
	if resp := h.post(callerKeyB); resp.StatusCode != http.StatusServiceUnavailable || h.usageAsked(callerKeyB) != 1 {
		t.Fatalf("right after an unverifiable answer: status %d, API asked %d times; want 503 from memory, asked once", resp.StatusCode, h.usageAsked(callerKeyB))
	}
	h.clk.Advance(callerUnverifiedFor)
	if resp := h.post(callerKeyB); resp.StatusCode != http.StatusOK {
		t.Fatalf("verification after the API came back: status %d, want 200", resp.StatusCode)
	}
	// After the verdict expires the key is asked about again.
	h.clk.Advance(callerVerifiedFor + time.Second)
	h.mustOK(h.call(a, "list_agents", map[string]any{}), "list_agents after the verdict expired")
	if n := h.usageAsked(callerKeyA); n != 2 {
		t.Fatalf("after the verdict expired the key was verified %d times in all, want 2", n)
	}
}

// TestCallerTenantsBounded: with room for one account, a second caller closes the first's
// idle tenant; the first caller's next request opens it again with its state (its opt-out)
// intact, because the state lives in the store, not the tenant.
func TestCallerTenantsBounded(t *testing.T) {
	h := newCallerHarness(t, func(c *Config) { c.CallerMaxAccounts, c.ConfirmMode = 1, "off" })
	a, b := h.connectAs(callerKeyA), h.connectAs(callerKeyB)
	agentA, _, numberA := h.setupAgentWithNumber(a)
	const to = "+14155550170"
	h.mustOK(h.call(a, "send_sms", sms(agentA, to, "hi")), "A texts")
	if _, err := h.front.Account(callerKeyA).InjectInboundSMS(to, numberA, "STOP"); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, h.call(a, "send_sms", sms(agentA, to, "again")), "opted_out", "A after STOP")
	h.mustOK(h.call(b, "list_agents", map[string]any{}), "B opens its account")
	if got := h.app.callers.count(); got != 1 {
		t.Fatalf("open tenants %d, want 1", got)
	}
	mustDeny(t, h.call(a, "send_sms", sms(agentA, to, "again")), "opted_out", "A after its tenant was closed and reopened")
	// Idle tenants close after callerIdle.
	h.clk.Advance(callerIdle + callerSweepEvery)
	deadline := time.Now().Add(5 * time.Second)
	for h.app.callers.count() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.app.callers.count(); got != 0 {
		t.Fatalf("idle tenants still open: %d", got)
	}
}

// TestCallerNoTenantFailsClosed: a tool call or resource read that reaches the server without
// a verified caller (the in-process transport has no bearer) is refused and reaches no API.
func TestCallerNoTenantFailsClosed(t *testing.T) {
	h := newCallerHarness(t)
	c := h.connect("inprocess")
	r := h.call(c, "list_agents", map[string]any{})
	if !r.isError || !strings.Contains(r.text, "no verified AgentPhone API key") {
		t.Fatalf("a call without a caller: %s", r.text)
	}
	if _, err := readResource(h.ctx, c, ResourceAgents); err == nil || !strings.Contains(err.Error(), "no verified") {
		t.Fatalf("a resource read without a caller: %v", err)
	}
	// The operator's own client reaches nothing either.
	if _, err := h.app.api.ListAgents(h.ctx, apiclient.ListParams{Limit: 1}); !errors.Is(err, errNoCaller) {
		t.Fatalf("the operator's client in caller mode: err = %v, want errNoCaller", err)
	}
}

// TestCallerModeRefusedSettings: caller mode refuses, with what to do, every setting it cannot
// honour safely.
func TestCallerModeRefusedSettings(t *testing.T) {
	base := func() Config {
		cfg, err := ConfigFromEnv(nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Transport, cfg.KeyMode, cfg.StateDir = "http", KeyModeCaller, t.TempDir()
		cfg.SigningKeyFile = writeKey(t, "0123456789abcdef0123456789abcdef-caller-mode")
		return cfg
	}
	cases := []struct {
		name    string
		mod     func(*Config)
		secrets Secrets
		want    string
	}{
		{"stdio", func(c *Config) { c.Transport = "stdio" }, Secrets{}, "needs the http or sse transport"},
		{"receiver", func(c *Config) { c.WebhookListen = "127.0.0.1:0" }, Secrets{}, "webhook receiver"},
		{"sandbox", func(c *Config) { c.Sandbox = true }, Secrets{}, "--keys-file"},
		{"sub-account", func(c *Config) { c.SubAccountID = "sub_1" }, Secrets{}, "AGENTPHONE_SUB_ACCOUNT_ID"},
		{"no signing key", func(c *Config) { c.SigningKeyFile = "" }, Secrets{}, "AGENTPHONE_SIGNING_KEY_FILE"},
		{"unknown mode", func(c *Config) { c.KeyMode = "both" }, Secrets{}, "AGENTPHONE_KEY_MODE"},
		{"operator key", nil, Secrets{APIKey: keyguard.NewSecret("sk_live_Zq7xW2pL9vR4mK8tYb3")}, "remove AGENTPHONE_API_KEY"},
		{"http token", nil, Secrets{HTTPToken: keyguard.NewSecret(strings.Repeat("t", 40))}, "remove AGENTPHONE_HTTP_TOKEN"},
		// No receiver in caller mode, so no use for it; kept, it would be a secret every
		// caller's output is scrubbed of, and so one each caller could probe for.
		{"webhook secret", nil, Secrets{WebhookSecret: keyguard.NewSecret("whsec_Zq7xW2pL9vR4mK8tYb3nQ5")}, "remove AGENTPHONE_WEBHOOK_SECRET"},
		{"campaigns", func(c *Config) { c.Toolsets = []string{"default", "campaigns"} }, Secrets{}, "campaigns toolset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			app, err := New(context.Background(), cfg, Options{Secrets: tc.secrets, Stderr: &lockedBuffer{}})
			if err == nil {
				_ = app.Close()
				t.Fatalf("started; want a refusal naming %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
			assertNoKeyLeak(t, "the refusal", err.Error(), "sk_live_Zq7xW2pL9vR4mK8tYb3")
		})
	}
}

// TestCallerOverSSE: the legacy SSE transport dispatches by the caller's key too: each
// caller's tool calls (answered on its own event stream, after the POST returned) run
// against its own account.
func TestCallerOverSSE(t *testing.T) {
	h := newCallerHarness(t, func(c *Config) { c.Transport, c.ConfirmMode = "sse", "off" })
	srv := httptest.NewServer(h.app.HTTPHandler("sse"))
	t.Cleanup(srv.Close)
	connect := func(key string) *client.Client {
		tr, err := transport.NewSSE(srv.URL+"/sse", transport.WithHeaders(map[string]string{"Authorization": "Bearer " + key}))
		if err != nil {
			t.Fatal(err)
		}
		c := client.NewClient(tr)
		if err := c.Start(h.ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		init := mcp.InitializeRequest{}
		init.Params.ClientInfo = mcp.Implementation{Name: "caller", Version: "1"}
		if _, err := c.Initialize(h.ctx, init); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := connect(callerKeyA), connect(callerKeyB)
	h.mustOK(h.call(a, "create_agent", map[string]any{"name": "Alpha desk", "voice_mode": "hosted", "system_prompt": "Be brief."}), "A creates an agent")
	if r := h.mustOK(h.call(b, "list_agents", map[string]any{}), "B lists agents"); strings.Contains(r.text, "Alpha desk") {
		t.Fatalf("B sees A's agent over SSE: %s", r.text)
	}
	if r := h.mustOK(h.call(a, "list_agents", map[string]any{}), "A lists agents"); !strings.Contains(r.text, "Alpha desk") {
		t.Fatalf("A does not see its agent over SSE: %s", r.text)
	}
}

// TestCallerVerificationsBounded: with every verification slot taken (a flood of made-up
// keys), a new key gets 503 at once and the API is not asked; a key already verified is
// still admitted from memory.
func TestCallerVerificationsBounded(t *testing.T) {
	h := newCallerHarness(t)
	if resp := h.post(callerKeyA); resp.StatusCode != http.StatusOK {
		t.Fatalf("A: %d", resp.StatusCode)
	}
	for range callerMaxVerifying {
		h.app.callers.slots <- struct{}{}
	}
	if resp := h.post(callerKeyB); resp.StatusCode != http.StatusServiceUnavailable || h.usageAsked(callerKeyB) != 0 {
		t.Fatalf("a new key with every slot taken: %d (API asked %d times), want 503 without asking", resp.StatusCode, h.usageAsked(callerKeyB))
	}
	if resp := h.post(callerKeyA); resp.StatusCode != http.StatusOK {
		t.Fatalf("a verified key with every slot taken: %d, want 200", resp.StatusCode)
	}
	for range callerMaxVerifying {
		<-h.app.callers.slots
	}
	if resp := h.post(callerKeyB); resp.StatusCode != http.StatusOK {
		t.Fatalf("B once slots are free: %d", resp.StatusCode)
	}
}

// TestCallerStatelessScopes: 2026-07-28 requests carry no session; in caller mode each
// caller's account is their scope, so a toolset one caller adds with enable_toolset is not
// added to another caller's list, and a token issued to one caller's stateless request is
// refused for the other's.
func TestCallerStatelessScopes(t *testing.T) {
	h := newCallerHarness(t, func(c *Config) { c.Toolsets = nil })
	rpc := func(key, method string, params map[string]any) map[string]any {
		t.Helper()
		params["_meta"] = map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}}
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
		req, _ := http.NewRequest(http.MethodPost, h.mcpURL, bytes.NewReader(msg))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
		req.Header.Set("Mcp-Method", method)
		if name, ok := params["name"].(string); ok {
			req.Header.Set("Mcp-Name", name)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", method, resp.StatusCode, body)
		}
		var r struct {
			Result map[string]any `json:"result"`
		}
		if err := json.Unmarshal([]byte(lastMessage(string(body))), &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return r.Result
	}
	lists := func(key, tool string) bool {
		tools, _ := rpc(key, "tools/list", map[string]any{})["tools"].([]any)
		for _, tl := range tools {
			if m, _ := tl.(map[string]any); m["name"] == tool {
				return true
			}
		}
		return false
	}
	if lists(callerKeyA, "list_contacts") || lists(callerKeyB, "list_contacts") {
		t.Fatal("the contacts toolset is listed from the start; the test needs an on-request toolset")
	}
	rpc(callerKeyA, "tools/call", map[string]any{"name": "enable_toolset", "arguments": map[string]any{"toolset": "contacts"}})
	if !lists(callerKeyA, "list_contacts") {
		t.Fatal("A's enable_toolset did not add the toolset to A's stateless list")
	}
	if lists(callerKeyB, "list_contacts") {
		t.Fatal("A's enable_toolset changed B's list")
	}

	structured := func(r map[string]any) map[string]any { m, _ := r["structuredContent"].(map[string]any); return m }
	rpc(callerKeyA, "tools/call", map[string]any{"name": "enable_toolset", "arguments": map[string]any{"toolset": "numbers"}})
	rpc(callerKeyB, "tools/call", map[string]any{"name": "enable_toolset", "arguments": map[string]any{"toolset": "numbers"}})
	preview := structured(rpc(callerKeyA, "tools/call", map[string]any{"name": "buy_number", "arguments": map[string]any{"area_code": "415"}}))
	tok, _ := preview["confirmation_token"].(string)
	if tok == "" {
		t.Fatalf("A's preview: %v", preview)
	}
	if r := structured(rpc(callerKeyB, "tools/call", map[string]any{"name": "buy_number", "arguments": map[string]any{"area_code": "415", "confirmation_token": tok}})); r["id"] != nil {
		t.Fatalf("B bought a number with A's token: %v", r)
	}
	if r := structured(rpc(callerKeyA, "tools/call", map[string]any{"name": "buy_number", "arguments": map[string]any{"area_code": "415", "confirmation_token": tok}})); r["id"] == nil {
		t.Fatalf("A could not confirm its own stateless preview: %v", r)
	}
}

// gathered reads a metric of the App's registry: the sample whose one label has value.
func gathered(t *testing.T, a *App, name, value string) float64 {
	t.Helper()
	mfs, err := a.ops.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == value {
					if g := m.GetGauge(); g != nil {
						return g.GetValue()
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestCallerAccountsRecoveredAtStart: a send left pending in a caller's account by a process
// that is gone becomes unknown (still counted) when the server starts, with the outcome line
// in that account's own audit log, although no caller has connected yet.
func TestCallerAccountsRecoveredAtStart(t *testing.T) {
	state, signing := t.TempDir(), writeKey(t, "0123456789abcdef0123456789abcdef-caller-mode")
	same := func(c *Config) { c.StateDir, c.SigningKeyFile = state, signing }
	first := startCallerApp(t, io.Discard, nil, same)
	id := first.app.accountID(callerKeyA)
	if err := first.app.Close(); err != nil {
		t.Fatal(err)
	}

	engine, err := store.Open(state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	view, err := engine.ForAccount(id)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pending, err := view.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "sms", Tool: "send_sms", Recipients: []string{"+14155550177"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = view.Close()
	if err := engine.Close(); err != nil { // its owner is gone now, as a killed process's
		t.Fatal(err)
	}

	second := startCallerApp(t, io.Discard, nil, same)
	acct, err := second.app.store.(store.Accounts).ForAccount(id)
	if err != nil {
		t.Fatal(err)
	}
	defer acct.Close()
	got, err := acct.Entries(ctx, store.EntryFilter{})
	if err != nil || len(got) != 1 || got[0].ID != pending.ID || got[0].State != store.Unknown {
		t.Fatalf("the pending entry after start: %v %+v, want it unknown", err, got)
	}
	body, err := os.ReadFile(filepath.Join(state, callerAccountsDir, id, "audit.jsonl"))
	if err != nil || !strings.Contains(string(body), `"recovered"`) || !strings.Contains(string(body), pending.ID) {
		t.Fatalf("the account's audit log has no recovered line for %s: %v\n%s", pending.ID, err, body)
	}
}

// TestCallerTenantLifecycle: a tenant in use is never closed under its request (eviction and
// the idle sweep skip it); a key the API refuses on re-verification closes its tenant once
// the request ends; shutting down closes every tenant once, also one still in use, and
// refuses new ones.
func TestCallerTenantLifecycle(t *testing.T) {
	h := newCallerHarness(t, func(c *Config) { c.CallerMaxAccounts = 1 })
	c := h.app.callers
	refA, err := c.admit(h.ctx, callerKeyA)
	if err != nil {
		t.Fatal(err)
	}
	tA, releaseA, err := c.acquire(h.ctx, refA)
	if err != nil {
		t.Fatal(err)
	}
	refB, err := c.admit(h.ctx, callerKeyB)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.acquire(h.ctx, refB); !errors.Is(err, errCallerFull) {
		t.Fatalf("B while A's only slot is in use: err = %v, want errCallerFull", err)
	}
	h.clk.Advance(callerIdle + time.Minute)
	c.sweep()
	if c.count() != 1 {
		t.Fatal("the idle sweep closed a tenant in use")
	}
	if _, err := tA.view.Entries(h.ctx, store.EntryFilter{Limit: 1}); err != nil {
		t.Fatalf("A's view under its request: %v", err)
	}
	// Taken out of the table while in use (as admit does for a key refused on
	// re-verification): it closes when A's request ends, not before.
	c.mu.Lock()
	c.removeLocked(tA)
	c.mu.Unlock()
	if _, err := tA.view.Entries(h.ctx, store.EntryFilter{Limit: 1}); err != nil {
		t.Fatalf("A's view was closed under its request: %v", err)
	}
	releaseA()
	if _, err := tA.view.Entries(h.ctx, store.EntryFilter{Limit: 1}); err == nil {
		t.Fatal("A's view stayed open after its last request")
	}

	tB, releaseB, err := c.acquire(h.ctx, refB)
	if err != nil {
		t.Fatalf("B once A's slot is free: %v", err)
	}
	if err := c.closeAll(); err != nil {
		t.Fatal(err)
	}
	releaseB() // after shutdown closed it: no second close, no panic
	if _, err := tB.view.Entries(h.ctx, store.EntryFilter{Limit: 1}); err == nil {
		t.Fatal("B's view stayed open after shutdown")
	}
	if _, _, err := c.acquire(h.ctx, refA); !errors.Is(err, errShuttingDown) {
		t.Fatalf("a new tenant after shutdown: err = %v", err)
	}
}

// TestCallerSessionsAndSubscriptions: a session belongs to the caller that opened it (another
// caller's request naming it, such as an answer to its elicitation, gets 404); resource
// updates go to the subscribed sessions of the account concerned only; campaign tools are
// neither listed nor callable.
func TestCallerSessionsAndSubscriptions(t *testing.T) {
	h := newCallerHarness(t)
	a := h.connectAs(callerKeyA)
	sid := a.GetSessionId()
	if sid == "" {
		t.Fatal("A has no session id")
	}
	for _, key := range []string{callerKeyB, callerKeyA} {
		body := `{"jsonrpc":"2.0","id":"elicit-1","result":{"action":"accept","content":{"approve":true,"code":"123"}}}`
		req, _ := http.NewRequest(http.MethodPost, h.mcpURL, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if key == callerKeyB && resp.StatusCode != http.StatusNotFound {
			t.Fatalf("B posting into A's session: status %d, want 404", resp.StatusCode)
		}
		if key == callerKeyA && resp.StatusCode == http.StatusNotFound {
			t.Fatal("A's own session is not found")
		}
	}

	b := h.connectAs(callerKeyB)
	for _, c := range []*client.Client{a, b} {
		req := mcp.SubscribeRequest{}
		req.Params.URI = ResourceInbox
		//lint:ignore SA1019 resources/subscribe of a 2025-11-25 session is what caller mode must scope
		if err := c.Subscribe(h.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	idA, idB := h.app.accountID(callerKeyA), h.app.accountID(callerKeyB)
	if got := h.app.subs.sessionsFor(idA, ResourceInbox); len(got) != 1 || got[0] != sid {
		t.Fatalf("A's inbox subscribers: %v, want only A's session %s", got, sid)
	}
	if got := h.app.subs.sessionsFor(idB, ResourceInbox); len(got) != 1 || got[0] == sid {
		t.Fatalf("B's inbox subscribers: %v", got)
	}
	if got := h.app.subs.sessionsFor("", ResourceInbox); len(got) != 0 {
		t.Fatalf("the operator's inbox subscribers include callers: %v", got)
	}

	tools, err := a.ListTools(h.ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools.Tools {
		if strings.Contains(tl.Name, "campaign") {
			t.Fatalf("caller mode lists %s", tl.Name)
		}
	}
	if _, err := h.callErr(a, "create_campaign", map[string]any{}); err == nil {
		t.Fatal("create_campaign is callable in caller mode")
	}
}

// TestCallerSessionShare: one caller holds at most a quarter of the server's sessions (429
// beyond, saying so); another caller still opens sessions; a session closed frees its place.
func TestCallerSessionShare(t *testing.T) {
	h := newCallerHarness(t, func(c *Config) { c.MaxSessions = 8 })
	share := callerSessionShare(8)
	if share != 2 {
		t.Fatalf("share of 8 sessions = %d, want 2", share)
	}
	var as []*client.Client
	for range share {
		as = append(as, h.connectAs(callerKeyA))
	}
	resp := h.post(callerKeyA)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("A's session beyond its share: status %d, want 429 with Retry-After", resp.StatusCode)
	}
	h.connectAs(callerKeyB) // B is not held back by A
	del, _ := http.NewRequest(http.MethodDelete, h.mcpURL, nil)
	del.Header.Set("Authorization", "Bearer "+callerKeyA)
	del.Header.Set("Mcp-Session-Id", as[0].GetSessionId())
	if resp, err := http.DefaultClient.Do(del); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("DELETE A's first session: %v %v", err, resp)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.post(callerKeyA).StatusCode != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("a closed session did not free A's place")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
