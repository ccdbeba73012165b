package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

const testWebhookSecret = "whsec_test_pinned_secret_0123456789"

// newReceiverApp builds an App in sandbox mode with the webhook receiver configured (pinned
// secret when secret is set).
func newReceiverApp(tb testing.TB, secret string) (*App, *sandbox.Sandbox, *clockwork.FakeClock, context.Context) {
	tb.Helper()
	clk := clockwork.NewFakeClockAt(testStart)
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	tb.Cleanup(sb.Close)
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel = true, tb.TempDir(), "error"
	cfg.Toolsets = []string{"all"}
	cfg.WebhookListen = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	app, err := New(ctx, cfg, Options{Clock: clk, Sandbox: sb, Stderr: io.Discard, Logger: slog.New(slog.DiscardHandler),
		Version: "test", Secrets: Secrets{WebhookSecret: keyguard.NewSecret(secret)}})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = app.Close() })
	return app, sb, clk, ctx
}

// newReceiverHarness is newHarness with the webhook receiver served on a loopback test server.
func newReceiverHarness(t *testing.T, secret string) (*harness, string) {
	t.Helper()
	app, sb, clk, ctx := newReceiverApp(t, secret)
	srv := httptest.NewServer(app.WebhookHandler())
	t.Cleanup(srv.Close)
	return &harness{t: t, ctx: ctx, app: app, sb: sb, clk: clk, cfg: app.cfg}, srv.URL + WebhookPath
}

// smsEvent is a signed-able agent.message body for agent agt_1.
func smsEvent(msgID, from, body string, at time.Time) []byte {
	return smsEventFor("agt_1", msgID, from, body, at)
}

// smsEventFor is smsEvent naming agentID.
func smsEventFor(agentID, msgID, from, body string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"event": "agent.message", "channel": "sms", "timestamp": at.Format(time.RFC3339), "agentId": agentID,
		"data": map[string]any{"messageId": msgID, "conversationId": "conv_1", "numberId": "num_1", "from": from,
			"to": "+14155550100", "message": body, "direction": "inbound", "receivedAt": at.Format(time.RFC3339)},
	})
	return b
}

// deliver POSTs body with the delivery headers; sig "" means sign with secret at ts.
func deliver(t *testing.T, url, secret, id string, ts time.Time, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sig == "" && secret != "" {
		sig = apiclient.SignWebhook(secret, ts, body)
	}
	if sig != "" {
		req.Header.Set(apiclient.HeaderSignature, sig)
	}
	req.Header.Set(apiclient.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if id != "" {
		req.Header.Set(apiclient.HeaderWebhookID, id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (h *harness) storedInbound() int {
	h.t.Helper()
	in, err := h.app.store.RecentInbound(h.ctx, 100)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(in)
}

func TestWebhookVerification(t *testing.T) {
	h, url := newReceiverHarness(t, testWebhookSecret)
	now := h.clk.Now()
	good := smsEvent("msg_a", "+14155550123", "hello", now)
	cases := []struct {
		name       string
		secret     string
		id         string
		ts         time.Time
		body       []byte
		sig        string
		wantStatus int
		wantStored int
	}{
		{"forged signature", "whsec_attacker", "dlv_1", now, good, "", http.StatusUnauthorized, 0},
		{"missing signature", "", "dlv_2", now, good, "", http.StatusUnauthorized, 0},
		{"malformed signature", "", "dlv_3", now, good, "sha256=zz", http.StatusUnauthorized, 0},
		{"stale timestamp", testWebhookSecret, "dlv_4", now.Add(-301 * time.Second), good, "", http.StatusUnauthorized, 0},
		{"future timestamp", testWebhookSecret, "dlv_5", now.Add(301 * time.Second), good, "", http.StatusUnauthorized, 0},
		{"body tampered after signing", "", "dlv_6", now, smsEvent("msg_a", "+14155550123", "HELLO", now),
			apiclient.SignWebhook(testWebhookSecret, now, good), http.StatusUnauthorized, 0},
		{"too large", testWebhookSecret, "dlv_7", now, append(good[:len(good)-1:len(good)-1], []byte(`,"pad":"`+strings.Repeat("x", maxWebhookBody)+`"}`)...), "", http.StatusRequestEntityTooLarge, 0},
		{"signed but not an event", testWebhookSecret, "dlv_8", now, []byte(`[1,2]`), "", http.StatusBadRequest, 0},
		{"valid", testWebhookSecret, "dlv_9", now, good, "", http.StatusOK, 1},
		{"replayed delivery id", testWebhookSecret, "dlv_9", now, good, "", http.StatusOK, 1},
		{"replayed delivery under a new id", testWebhookSecret, "dlv_9b", now, good, "", http.StatusOK, 1},
		{"replayed with the signature re-spelled", "", "dlv_9c", now, good,
			strings.ToUpper(strings.TrimPrefix(apiclient.SignWebhook(testWebhookSecret, now, good), "sha256=")), http.StatusOK, 1},
		{"no delivery id", testWebhookSecret, "", now, smsEvent("msg_c", "+14155550123", "no id", now), "", http.StatusBadRequest, 1},
		{"timestamp at the edge", testWebhookSecret, "dlv_10", now.Add(-299 * time.Second), smsEvent("msg_b", "+14155550123", "again", now), "", http.StatusOK, 2},
	}
	events, unsub := h.app.events.Subscribe()
	defer unsub()
	published := 0
	for _, tc := range cases {
		status, body := deliver(t, url, tc.secret, tc.id, tc.ts, tc.body, tc.sig)
		if status != tc.wantStatus {
			t.Fatalf("%s: status %d (%s), want %d", tc.name, status, body, tc.wantStatus)
		}
		if got := h.storedInbound(); got != tc.wantStored {
			t.Fatalf("%s: %d stored events, want %d", tc.name, got, tc.wantStored)
		}
		if strings.Contains(body, testWebhookSecret) {
			t.Fatalf("%s: the answer leaks the secret", tc.name)
		}
		if strings.HasPrefix(tc.name, "replayed") && !strings.Contains(body, "duplicate") {
			t.Fatalf("replay not reported as duplicate: %s", body)
		}
	drain:
		for {
			select {
			case <-events:
				published++
			default:
				break drain
			}
		}
		if published != tc.wantStored {
			t.Fatalf("%s: %d events published, want %d", tc.name, published, tc.wantStored)
		}
	}
}

func TestWebhookMethodAndPath(t *testing.T) {
	h, url := newReceiverHarness(t, testWebhookSecret)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d, want 405", resp.StatusCode)
	}
	status, _ := deliver(t, strings.TrimSuffix(url, WebhookPath)+"/other", testWebhookSecret, "dlv_x", h.clk.Now(), smsEvent("m", "+14155550123", "x", h.clk.Now()), "")
	if status != http.StatusNotFound {
		t.Fatalf("other path: status %d, want 404", status)
	}
}

func TestWebhookOptOutReachesPolicy(t *testing.T) {
	h, url := newReceiverHarness(t, testWebhookSecret)
	now := h.clk.Now()
	for i, body := range []string{"Thanks!", "STOP"} {
		from := "+1415555012" + strconv.Itoa(i)
		if status, out := deliver(t, url, testWebhookSecret, "dlv_"+strconv.Itoa(i), now, smsEvent("msg_"+strconv.Itoa(i), from, body, now), ""); status != 200 {
			t.Fatalf("delivery %q: %d %s", body, status, out)
		}
		opted, err := h.app.store.IsOptedOut(h.ctx, from, store.ChannelSMS)
		if err != nil {
			t.Fatal(err)
		}
		if opted != (body == "STOP") {
			t.Fatalf("%q from %s: opted out = %v", body, from, opted)
		}
	}
}

// TestWebhookSecretRefresh: with no pinned secret the receiver reads the secrets from the API,
// and re-reads them after a failure at most once a minute.
func TestWebhookSecretRefresh(t *testing.T) {
	h, url := newReceiverHarness(t, "")
	now := h.clk.Now()
	body := smsEvent("msg_r", "+14155550123", "hi", now)
	if status, _ := deliver(t, url, "whsec_unknown", "dlv_r0", now, body, ""); status != http.StatusUnauthorized {
		t.Fatalf("no webhook configured: status %d, want 401", status)
	}
	hook, err := h.app.api.SetWebhook(h.ctx, apiclient.SetWebhookRequest{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := deliver(t, url, hook.Secret, "dlv_r1", now, body, ""); status != http.StatusUnauthorized {
		t.Fatalf("within a minute of the last read: status %d, want 401 (refresh is rate-limited)", status)
	}
	h.clk.Advance(61 * time.Second)
	now = h.clk.Now()
	if status, out := deliver(t, url, hook.Secret, "dlv_r2", now, body, ""); status != http.StatusOK {
		t.Fatalf("after a minute: status %d (%s), want 200 with the secret re-read from the API", status, out)
	}
	// A second agent's own webhook has its own secret: accepted too after a refresh.
	agent, err := h.app.api.CreateAgent(h.ctx, apiclient.CreateAgentRequest{Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	agentHook, err := h.app.api.SetAgentWebhook(h.ctx, agent.ID, apiclient.SetWebhookRequest{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(61 * time.Second)
	now = h.clk.Now()
	for _, c := range []struct{ agent, sec string }{{agent.ID, agentHook.Secret}, {"agt_1", hook.Secret}} {
		sec := c.sec
		if status, out := deliver(t, url, sec, "dlv_"+sec[len(sec)-6:], now, smsEventFor(c.agent, "msg_"+sec[len(sec)-6:], "+14155550123", "hi", now), ""); status != http.StatusOK {
			t.Fatalf("secret ...%s: status %d (%s)", sec[len(sec)-4:], status, out)
		}
	}
}

func TestInboxWithoutReceiverPointsToPolling(t *testing.T) {
	h := newHarness(t)
	d := &tools.Deps{}
	v, err := d.Inbox(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := v.(map[string]any)
	if m["receiver"] != false || !strings.Contains(m["hint"].(string), "--webhook-listen") {
		t.Fatalf("inbox without receiver: %v", m)
	}
}

// FuzzWebhookDelivery: any correctly signed body gets a definite answer and never panics;
// anything that is not an event is refused before it is stored.
func FuzzWebhookDelivery(f *testing.F) {
	now := testStart
	f.Add(smsEvent("msg_f", "+14155550123", "hi", now))
	f.Add([]byte(`{"event":"agent.call_ended","channel":"voice","data":{"callId":"c","transcript":"not an array"}}`))
	f.Add([]byte(`{"event":"agent.message","channel":"voice","data":{"callId":"c","transcript":"hi"}}`))
	f.Add([]byte(`{"event":"agent.reaction","data":null}`))
	f.Add([]byte(`null`))
	app, _, clk, _ := newReceiverApp(f, testWebhookSecret)
	handler := app.WebhookHandler()
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		if strings.Contains(string(body), `"voice"`) {
			return // voice turns are held for the model; covered by the live-call tests
		}
		n++
		req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
		req.Header.Set(apiclient.HeaderSignature, apiclient.SignWebhook(testWebhookSecret, clk.Now(), body))
		req.Header.Set(apiclient.HeaderTimestamp, strconv.FormatInt(clk.Now().Unix(), 10))
		req.Header.Set(apiclient.HeaderWebhookID, "dlv_fuzz_"+strconv.Itoa(n))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if _, err := apiclient.ParseWebhookEvent(body); err != nil && rec.Code == http.StatusOK {
			t.Fatalf("a body ParseWebhookEvent refuses was accepted: %q", body)
		}
	})
}

// BenchmarkWebhookDelivery measures one verified, de-duplicated, stored and published
// inbound SMS delivery through the receiver's handler.
func BenchmarkWebhookDelivery(b *testing.B) {
	app, _, clk, _ := newReceiverApp(b, testWebhookSecret)
	handler := app.WebhookHandler()
	ts := strconv.FormatInt(clk.Now().Unix(), 10)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// Each delivery is a different message: a re-sent body is a replay and short-circuits.
		body := smsEvent("msg_bench_"+strconv.Itoa(i), "+14155550123", "Is my order ready?", clk.Now())
		sig := apiclient.SignWebhook(testWebhookSecret, clk.Now(), body)
		req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
		req.Header.Set(apiclient.HeaderSignature, sig)
		req.Header.Set(apiclient.HeaderTimestamp, ts)
		req.Header.Set(apiclient.HeaderWebhookID, "dlv_bench_"+strconv.Itoa(i))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
