package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore/redistest"
)

// startRedis starts a real redis-server for one test.
func startRedis(t *testing.T) *redistest.Server {
	t.Helper()
	r, err := redistest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

func writeKey(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// replicas are n Apps on one Redis (each with its own state dir, as on its own machine)
// in front of one sandbox API, sharing a signing key.
func replicas(t *testing.T, n int, redisURL string, mods ...func(*Config)) []*harness {
	t.Helper()
	clk := clockwork.NewFakeClockAt(testStart)
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	t.Cleanup(sb.Close)
	key := writeKey(t, "0123456789abcdef0123456789abcdef-shared-by-replicas")
	var out []*harness
	for range n {
		cfg, err := ConfigFromEnv(nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sandbox, cfg.StateDir, cfg.LogLevel = true, t.TempDir(), "error"
		cfg.Toolsets = []string{"all"}
		cfg.RedisURL, cfg.SigningKeyFile = redisURL, key
		for _, m := range mods {
			m(&cfg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		t.Cleanup(cancel)
		app, err := New(ctx, cfg, Options{Clock: clk, Sandbox: sb, Stderr: io.Discard,
			Logger: slog.New(slog.DiscardHandler), Version: "test", Secrets: Secrets{}})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = app.Close() })
		out = append(out, &harness{t: t, ctx: ctx, app: app, sb: sb, clk: clk, cfg: app.cfg})
	}
	return out
}

func TestRedisNeedsSigningKey(t *testing.T) {
	r := startRedis(t)
	for _, tc := range []struct{ name, keyFile, want string }{
		{"no key file", "", "AGENTPHONE_SIGNING_KEY_FILE is not"},
		{"short key", writeKey(t, "too-short"), "at least 32"},
		{"missing file", filepath.Join(t.TempDir(), "nope"), "AGENTPHONE_SIGNING_KEY_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := ConfigFromEnv(nil)
			cfg.Sandbox, cfg.StateDir, cfg.RedisURL, cfg.SigningKeyFile = true, t.TempDir(), r.URL(), tc.keyFile
			_, err := New(context.Background(), cfg, Options{Stderr: io.Discard, Logger: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v; want a refusal mentioning %q", err, tc.want)
			}
		})
	}
	cfg, _ := ConfigFromEnv(nil)
	cfg.Sandbox, cfg.StateDir, cfg.RedisURL = true, t.TempDir(), "redis://127.0.0.1:1"
	cfg.SigningKeyFile = writeKey(t, strings.Repeat("k", 40))
	if _, err := New(context.Background(), cfg, Options{Stderr: io.Discard, Logger: slog.New(slog.DiscardHandler)}); err == nil ||
		!strings.Contains(err.Error(), "Redis at 127.0.0.1:1 is unreachable") {
		t.Fatalf("New with Redis down = %v; want a refusal naming Redis", err)
	}
}

// TestReplicasShareCapsAndTokens: two replicas on one Redis. Concurrent sends to one
// recipient spread over both reach the API exactly the cap (5 per hour) times; a
// confirmation token issued on one replica works on the other, once.
func TestReplicasShareCapsAndTokens(t *testing.T) {
	r := startRedis(t)
	hs := replicas(t, 2, r.URL())
	a, b := hs[0], hs[1]
	// In-process clients act as the replica process, whose principal every replica derives from
	// the shared signing key (an HTTP session is a principal of its own: its tokens stay its own).
	ca, cb := a.connect("inprocess"), b.connect("inprocess")
	agentID, _, _ := a.setupAgentWithNumber(ca)

	// A token issued on A, redeemed on B: works once; replayed on A: refused.
	args := sms(agentID, "+14155550170", "Your table is ready.")
	first := a.call(ca, "send_sms", args)
	tok := first.str("confirmation_token")
	if first.str("status") != "confirmation_required" || tok == "" {
		t.Fatalf("send_sms on A = %s; want a confirmation token", first.text)
	}
	b.mustOK(b.call(cb, "send_sms", with(args, "confirmation_token", tok)), "token from A redeemed on B")
	if again := a.call(ca, "send_sms", with(args, "confirmation_token", tok)); !again.isError && again.str("status") != "confirmation_required" {
		t.Fatalf("the same token replayed on A was accepted: %s", again.text)
	}
	sent := a.sentMessages()
	if sent != 1 {
		t.Fatalf("%d messages reached the API after one confirmed send", sent)
	}

	// The cap: the recipient is now known; 4 more may go this hour (5 in all).
	var wg sync.WaitGroup
	for i := range 16 {
		h, c := a, ca
		if i%2 == 1 {
			h, c = b, cb
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = h.callErr(c, "send_sms", sms(agentID, "+14155550170", fmt.Sprintf("Update %d on your order.", i)))
		}()
	}
	wg.Wait()
	if got := a.sentMessages(); got != 5 {
		t.Fatalf("%d messages reached the API across two replicas; the cap is 5 per hour", got)
	}
}

// TestRedisOutageFailsClosed: Redis stopped mid-run: sends are refused with an error naming
// Redis, nothing reaches the API, reads that need no shared state still work, /readyz says
// not ready; Redis back: service resumes.
func TestRedisOutageFailsClosed(t *testing.T) {
	r := startRedis(t)
	h := replicas(t, 1, r.URL(), func(c *Config) { c.ConfirmMode = "off" })[0]
	c := h.connect("inprocess")
	agentID, _, _ := h.setupAgentWithNumber(c)
	srv := httptest.NewServer(h.app.HTTPHandler("http"))
	t.Cleanup(srv.Close)
	ready := func() int {
		resp, err := http.Get(srv.URL + ReadyPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ready(); code != http.StatusOK {
		t.Fatalf("/readyz = %d with Redis up", code)
	}
	h.mustOK(h.call(c, "send_sms", sms(agentID, "+14155550171", "First.")), "send with Redis up")

	r.Stop()
	res := h.call(c, "send_sms", sms(agentID, "+14155550171", "Second."))
	if !res.isError || !strings.Contains(res.text, "Redis") {
		t.Fatalf("send with Redis down = %s; want a refusal naming Redis", res.text)
	}
	if got := h.sentMessages(); got != 1 {
		t.Fatalf("%d messages reached the API; the send during the outage must not", got)
	}
	h.mustOK(h.call(c, "list_agents", map[string]any{}), "a read that needs no shared state, Redis down")
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d with Redis down; want 503", code)
	}
	if resp, err := http.Get(srv.URL + HealthPath); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz with Redis down = %v, %v; the process is alive", resp, err)
	}

	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	h.mustOK(h.call(c, "send_sms", sms(agentID, "+14155550171", "Third.")), "send after Redis came back")
	if code := ready(); code != http.StatusOK {
		t.Fatalf("/readyz = %d after Redis came back", code)
	}
}

// TestMetricsEndpoint: /metrics in the Prometheus text format, behind the bearer token
// when one is set; it counts tool calls, API requests and open sessions.
func TestMetricsEndpoint(t *testing.T) {
	const token = "metrics-test-token-0123456789abcdef0123"
	h := newHarness(t)
	h.app.secrets.HTTPToken = keyguard.NewSecret(token)
	h.app.httpTokens = []string{token}
	c := h.connect("inprocess")
	h.mustOK(h.call(c, "list_agents", map[string]any{}), "list_agents")
	agentID, _, own := h.setupAgentWithNumber(c) // buy_number asks for a confirmation first
	if r := h.call(c, "send_sms", sms(agentID, own, "hi")); !r.isError {
		t.Fatalf("a text to the account's own number was not denied: %s", r.text)
	}
	srv := httptest.NewServer(h.app.HTTPHandler("http"))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token = %d; want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+MetricsPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`agentphone_tool_calls_total{outcome="ok",tool="list_agents"} 1`,
		`agentphone_api_request_duration_seconds_count{endpoint="/v1/agents",method="GET",status="200"}`,
		`agentphone_open_sessions 1`,
		`agentphone_ledger_entries{state="pending"} 0`,
		`agentphone_policy_decisions_total{decision="confirm",rule="spend"} 1`,
		`agentphone_policy_decisions_total{decision="deny",rule="own_number"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s in:\n%s", want, grepLines(text, "agentphone_policy"))
		}
	}
	if resp, err := http.Get(srv.URL + HealthPath); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz without the token = %v, %v; want 200 (probes carry no token)", resp, err)
	}
}

func TestEndpointLabel(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/messages":                           "/v1/messages",
		"/v1/calls/call_8f3a2b/transcript":       "/v1/calls/{id}/transcript",
		"/v1/conversations/+14155550100":         "/v1/conversations/{id}",
		"/v1/agents/agt_1/webhooks":              "/v1/agents/{id}/webhooks",
		"/v1/numbers/abcdefghijklmnopqrstuvwxyz": "/v1/numbers/{id}",
	} {
		if got := endpointLabel(in); got != want {
			t.Errorf("endpointLabel(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestInboundFanOut: a webhook delivered to replica A ends a wait_for_reply waiting on
// replica B (the sandbox API never has this message, so only the fan-out can end it), and
// the same delivery then sent to B is a duplicate (de-duplication is shared).
func TestInboundFanOut(t *testing.T) {
	r := startRedis(t)
	const secret = "whsec_fanout_test_secret_0123456789"
	hs := replicas(t, 2, r.URL(), func(c *Config) { c.WebhookListen = "127.0.0.1:0" })
	for _, h := range hs {
		h.app.recv.secrets.pinned = secret
	}
	a, b := hs[0], hs[1]
	srvA, srvB := httptest.NewServer(a.app.WebhookHandler()), httptest.NewServer(b.app.WebhookHandler())
	t.Cleanup(srvA.Close)
	t.Cleanup(srvB.Close)
	ca, cb := a.connect("inprocess"), b.connect("inprocess")
	agentID, numberID, number := a.setupAgentWithNumber(ca)
	done := make(chan result, 1)
	go func() {
		done <- b.call(cb, "wait_for_reply", map[string]any{"number_id": numberID, "participant": "+14155550199", "timeout_seconds": 60})
	}()
	event := func(msgID string) []byte {
		body, _ := json.Marshal(map[string]any{
			"event": "agent.message", "channel": "sms", "timestamp": testStart.Format(time.RFC3339), "agentId": agentID,
			"data": map[string]any{"messageId": msgID, "conversationId": "conv_fanout", "numberId": numberID, "from": "+14155550199",
				"to": number, "message": "Yes, 6 pm works.", "direction": "inbound", "receivedAt": testStart.Format(time.RFC3339)},
		})
		return body
	}
	// Deliver to A until B's wait ends: the wait subscribes before its first poll, and a
	// delivery made before that is (rightly) not for it.
	first := event("msg_fanout_0")
	var res result
	for i := 0; ; i++ {
		body := first
		if i > 0 {
			body = event(fmt.Sprint("msg_fanout_", i))
		}
		if code, text := deliver(t, srvA.URL+WebhookPath, secret, fmt.Sprint("dlv_", i), testStart, body, ""); code != http.StatusOK {
			t.Fatalf("delivery to A = %d %s", code, text)
		}
		select {
		case res = <-done:
		case <-time.After(200 * time.Millisecond):
			if i < 100 {
				continue
			}
			t.Fatal("the webhooks delivered to replica A never woke the wait on replica B")
		}
		break
	}
	if res.isError || !strings.Contains(res.text, "Yes, 6 pm works.") || res.str("via") != "webhook" {
		t.Fatalf("wait_for_reply on B = %s", res.text)
	}
	body := first
	code, text := deliver(t, srvB.URL+WebhookPath, secret, "dlv_0", testStart, body, "")
	if code != http.StatusOK || !strings.Contains(text, `"duplicate":true`) {
		t.Fatalf("the same delivery sent to B = %d %s; want a duplicate", code, text)
	}
}

// TestDeadReplicaRecoveredWhileRunning: a replica dies with a send in flight (its pending
// entry stays, its heartbeat stops); a running replica turns that entry into unknown (still
// counted) at its next periodic recovery, without a restart.
func TestDeadReplicaRecoveredWhileRunning(t *testing.T) {
	r := startRedis(t)
	h := replicas(t, 1, r.URL())[0]
	ctx := context.Background()
	dying, err := redisstore.Open(ctx, redisstore.Conn{URL: r.URL()}, redisstore.Options{Prefix: redisSandboxPrefix, OwnerTTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e, err := dying.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "sms", Tool: "send_sms", Recipients: []string{"+14155550190"},
			Events: []store.Event{{Key: "sms:+14155550190", At: testStart, Weight: 1}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dying.Abandon() // killed: no Close, no more heartbeats
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.clk.Advance(recoverEvery)
		got, err := h.app.store.Entry(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == store.Unknown {
			log, _ := os.ReadFile(h.app.cfg.AuditLog)
			if !strings.Contains(string(log), e.ID) || !strings.Contains(string(log), `"recovered"`) {
				t.Fatalf("the recovery is not in the audit log: %s", log)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead replica's entry is still %s", got.State)
		}
		time.Sleep(50 * time.Millisecond) // its heartbeat key expires on the Redis server's clock
	}
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestCampaignOnAnotherReplica: a campaign runs on the replica that created it; asked on
// another replica, get_campaign says so and how to reach it, instead of a bare "no
// campaign"; on its own replica it answers.
func TestCampaignOnAnotherReplica(t *testing.T) {
	r := startRedis(t)
	pf := writePolicyFile(t, `{"allowlist": ["+1650253"]}`)
	hs := replicas(t, 2, r.URL(), func(c *Config) { c.PolicyFile = pf })
	a, b := hs[0], hs[1]
	ca, cb := a.connect("inprocess"), b.connect("inprocess")
	_, numberID, _ := a.setupAgentWithNumber(ca)
	id, _ := a.startCampaign(ca, campaignArgs(numberID, 6, recipients("+16502530001", "+16502530002")))
	a.mustOK(a.call(ca, "get_campaign", map[string]any{"campaign_id": id}), "get_campaign on the creating replica")
	other := b.call(cb, "get_campaign", map[string]any{"campaign_id": id})
	if !other.isError || other.str("status") != "not_found" || !strings.Contains(other.text, "runs on the replica that created it") {
		t.Fatalf("get_campaign on another replica: %s; want not_found saying where the campaign runs", other.text)
	}
}
