package server

// Adversarial checks of caller-key mode (review): what one caller can learn of another's key
// or state through the server's shared machinery.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// TestCallerScrubberIsNoOracle: the scrubber that keeps keys out of what a caller sees must
// not redact another caller's key. If it did, a caller could send guesses (a prompt
// argument, an agent name) and learn from what comes back "[REDACTED]" which 8-character
// runs belong to another caller's key: with the known "sk_live_" start, the whole key, one
// character at a time. A caller's own key is still redacted from what it sees.
func TestCallerScrubberIsNoOracle(t *testing.T) {
	h := newCallerHarness(t)
	a, b := h.connectAs(callerKeyA), h.connectAs(callerKeyB)
	// B is active: its tenant is open, its key held by the process's scrubbers.
	h.mustOK(h.call(b, "list_numbers", map[string]any{}), "B lists numbers")
	fragB := callerKeyB[strings.Index(callerKeyB, "bravo"):][:12] // no run of it is A's (the tails are each other reversed)
	fragA := callerKeyA[len(callerKeyA)-12:]
	if keyguard.NewScrubber(callerKeyA).Finds(fragB) || !keyguard.NewScrubber(callerKeyB).Finds(fragB) {
		t.Fatalf("the probe %q must be B's alone", fragB)
	}

	// A prompt echoes its arguments.
	req := mcp.GetPromptRequest{}
	req.Params.Name = "take_messages"
	req.Params.Arguments = map[string]string{"agent_id": "agt_guess", "owner_name": "guess " + fragB + " end " + fragA}
	res, err := a.GetPrompt(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, m := range res.Messages {
		if tc, ok := m.Content.(mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if !strings.Contains(text.String(), fragB) {
		t.Fatalf("A's prompt argument came back redacted: the scrubber tells A it matches another caller's key: %s", text.String())
	}
	if strings.Contains(text.String(), fragA) {
		t.Fatalf("A's own key fragment reached A's prompt unredacted: %s", text.String())
	}

	// A tool result echoes what A stored (an agent's name), read back through the API.
	r := h.confirm(a, "create_agent", map[string]any{"name": "x " + fragB + " y", "voice_mode": "hosted", "system_prompt": "Be brief."})
	got := h.mustOK(h.call(a, "get_agent", map[string]any{"agent_id": r.str("id")}), "A reads its agent")
	if !strings.Contains(got.text, fragB) {
		t.Fatalf("A's agent name came back redacted: the scrubber is an oracle on another caller's key: %s", got.text)
	}
	if body, err := readResource(h.ctx, a, ResourceAgents); err != nil || !strings.Contains(body, fragB) {
		t.Fatalf("A's agents resource came back redacted (or failed: %v): %s", err, body)
	}
	// B's whole key is still never shown, even to a caller who typed it (guessing a whole
	// key is no easier than guessing a valid bearer, so this is no oracle).
	req.Params.Arguments = map[string]string{"agent_id": "agt_guess", "owner_name": "whole " + callerKeyB + " end"}
	res, err = a.GetPrompt(h.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Messages {
		if tc, ok := m.Content.(mcp.TextContent); ok {
			assertNoKeyLeak(t, "A's prompt naming B's whole key", tc.Text, callerKeyB)
		}
	}
	// The operator's log still redacts every caller's key.
	h.app.logger.Warn("probe " + callerKeyA + " " + callerKeyB)
	assertNoKeyLeak(t, "stderr", h.stderr.String(), callerKeyA, callerKeyB)
}

// TestCallerGlobalCapConcurrent: the operator's cap across callers holds exactly when two
// callers send at once from many goroutines (each with its own session): exactly the cap's
// worth of texts leaves, summed over both accounts as the API saw them, and every refusal
// is the global cap's, naming neither caller.
func TestCallerGlobalCapConcurrent(t *testing.T) {
	const limit, each = 5, 8
	pf := writePolicyFile(t, `{"global_limits": {"sms_day": 5}}`)
	h := newCallerHarness(t, func(c *Config) { c.PolicyFile, c.ConfirmMode = pf, "off" })
	type caller struct {
		key, agent string
		clients    []*client.Client
	}
	var callers []*caller
	for _, key := range []string{callerKeyA, callerKeyB} {
		c := &caller{key: key}
		first := h.connectAs(key)
		c.agent, _, _ = h.setupAgentWithNumber(first)
		c.clients = append(c.clients, first)
		for range 3 {
			c.clients = append(c.clients, h.connectAs(key))
		}
		callers = append(callers, c)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok int
	var refusals []result
	for ci, c := range callers {
		for i := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to := fmt.Sprintf("+1415555%02d%02d", 10+ci, i)
				r, err := h.callErr(c.clients[i%len(c.clients)], "send_sms", sms(c.agent, to, "hello"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("send_sms: %v", err)
				case r.isError:
					refusals = append(refusals, r)
				default:
					ok++
				}
			}()
		}
	}
	wg.Wait()
	if sent := h.sentBy(callerKeyA) + h.sentBy(callerKeyB); ok != limit || sent != limit {
		t.Fatalf("%d texts reported sent, %d reached the API; want exactly %d across both callers", ok, sent, limit)
	}
	for _, r := range refusals {
		if r.str("rule") != "global_limit" {
			t.Fatalf("a refusal other than the global cap: %s", r.text)
		}
		for _, c := range callers {
			if strings.Contains(r.text, c.agent) || strings.Contains(r.text, h.app.accountID(c.key)) {
				t.Fatalf("the global cap's reason names a caller: %s", r.text)
			}
		}
	}
}

// statelessPost sends one 2026-07-28 (sessionless) JSON-RPC message with bearer; ctx bounds it.
func statelessPost(ctx context.Context, url, bearer string, msg map[string]any) (int, string, error) {
	params, _ := msg["params"].(map[string]any)
	if params == nil {
		params = map[string]any{}
		msg["params"] = params
	}
	params["_meta"] = map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	msg["jsonrpc"] = "2.0"
	body, _ := json.Marshal(msg)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
	if m, _ := msg["method"].(string); m != "" {
		req.Header.Set("Mcp-Method", m)
	}
	if name, ok := params["name"].(string); ok {
		req.Header.Set("Mcp-Name", name)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), err
}

// TestCallerCannotCancelAnothersRequest: 2026-07-28 requests have no session, and mcp-go
// keys their cancellation by the JSON-RPC id alone, so one caller's notifications/cancelled
// naming id 7 would cancel another caller's request 7 (a send half way, a wait). A
// cancellation reaches only requests of the credential that sent it; the caller's own still
// works.
func TestCallerCannotCancelAnothersRequest(t *testing.T) {
	h := newCallerHarness(t, func(c *Config) { c.ConfirmMode = "off" })
	a := h.connectAs(callerKeyA)
	agentA, _, _ := h.setupAgentWithNumber(a)
	conv := h.mustOK(h.call(a, "send_sms", sms(agentA, "+14155550188", "hi")), "A texts").str("conversation_id")
	if conv == "" {
		t.Fatal("A's text has no conversation id")
	}
	// Make sure B is verified, so its cancellation is not held up by verification.
	if code, body, err := statelessPost(h.ctx, h.mcpURL, callerKeyB, map[string]any{"id": 1, "method": "tools/list"}); err != nil || code != http.StatusOK {
		t.Fatalf("B's tools/list: %d %v %s", code, err, body)
	}

	waitCtx, stopWait := context.WithCancel(h.ctx)
	defer stopWait()
	done := make(chan string, 1)
	go func() {
		_, body, _ := statelessPost(waitCtx, h.mcpURL, callerKeyA, map[string]any{"id": 7, "method": "tools/call",
			"params": map[string]any{"name": "wait_for_reply", "arguments": map[string]any{"conversation_id": conv, "timeout_seconds": 40}}})
		done <- body
	}()
	deadline := time.Now().Add(5 * time.Second)
	for h.app.calls.count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("A's wait did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel := func(key string) {
		t.Helper()
		code, body, err := statelessPost(h.ctx, h.mcpURL, key, map[string]any{"method": "notifications/cancelled", "params": map[string]any{"requestId": 7, "reason": "x"}})
		if err != nil || code >= 300 {
			t.Fatalf("notifications/cancelled: %d %v %s", code, err, body)
		}
	}
	cancel(callerKeyB)
	select {
	case body := <-done:
		t.Fatalf("B's notifications/cancelled ended A's request 7: %s", body)
	case <-time.After(500 * time.Millisecond):
	}
	if h.app.calls.count() != 1 {
		t.Fatal("A's wait is no longer running after B's cancellation")
	}
	cancel(callerKeyA)
	deadline = time.Now().Add(5 * time.Second)
	for h.app.calls.count() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("A's own notifications/cancelled did not end its request")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCallerBackoffPerKey: the growing wait after wrong keys is per client address, and
// callers may share one (a NAT, a proxy). A valid key must neither wipe out the wrong keys
// counted from its address (a caller with a key of its own could otherwise try made-up keys
// without end, each one a request to the API, by slipping its own key in between), nor be
// held back by another's wrong keys once it is verified.
func TestCallerBackoffPerKey(t *testing.T) {
	h := newCallerHarness(t)
	if resp := h.post(callerKeyA); resp.StatusCode != http.StatusOK {
		t.Fatalf("A: %d", resp.StatusCode)
	}
	wrong := func(i int) string { return fmt.Sprintf("sk_live_made_up_key_%04d_0000000000", i) }
	for i := range authFreeAttempts - 1 {
		if resp := h.post(wrong(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d, want 401", i, resp.StatusCode)
		}
		if resp := h.post(callerKeyA); resp.StatusCode != http.StatusOK {
			t.Fatalf("A between wrong keys: %d", resp.StatusCode)
		}
	}
	if resp := h.post(wrong(99)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("wrong key %d from one address, A's key in between: %d, want 429", authFreeAttempts, resp.StatusCode)
	}
	if resp := h.post(wrong(98)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a made-up key during the wait: %d, want 429", resp.StatusCode)
	}
	asked := 0
	for i := range 100 {
		asked += h.usageAsked(wrong(i))
	}
	if asked != authFreeAttempts {
		t.Fatalf("the API was asked about %d made-up keys, want %d", asked, authFreeAttempts)
	}
	// The address waits; A, verified, does not; B, not yet verified, does.
	if resp := h.post(callerKeyA); resp.StatusCode != http.StatusOK {
		t.Fatalf("A, verified, during its address's wait: %d, want 200", resp.StatusCode)
	}
	if resp := h.post(callerKeyB); resp.StatusCode != http.StatusTooManyRequests || h.usageAsked(callerKeyB) != 0 {
		t.Fatalf("B, unverified, during the address's wait: %d (API asked %d times), want 429 without asking", resp.StatusCode, h.usageAsked(callerKeyB))
	}
	// A's verdict expires while its account is open (in use within callerIdle); a made-up
	// key puts the address back in a wait. A is verified again all the same.
	a := h.connectAs(callerKeyA)
	h.mustOK(h.call(a, "list_agents", map[string]any{}), "A opens its account")
	h.clk.Advance(callerVerifiedFor + time.Second)
	if resp := h.post(wrong(97)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a made-up key after the wait: %d, want 429 (the strikes go on counting)", resp.StatusCode)
	}
	before := h.usageAsked(callerKeyA)
	h.mustOK(h.call(a, "list_agents", map[string]any{}), "A, open but its verdict expired, during its address's wait")
	if h.usageAsked(callerKeyA) != before+1 {
		t.Fatal("A's expired verdict was not asked about again")
	}
}

// TestCallerReverifiedDespiteFlood: a flood of made-up keys takes every verification slot;
// a caller whose account is open and whose verdict just expired is still verified again
// (its re-verification is bounded by the open accounts, not the slots), so the flood does
// not lock active callers out. A new key still gets 503 without asking.
func TestCallerReverifiedDespiteFlood(t *testing.T) {
	h := newCallerHarness(t)
	a := h.connectAs(callerKeyA)
	h.mustOK(h.call(a, "list_agents", map[string]any{}), "A lists agents")
	for range callerMaxVerifying {
		h.app.callers.slots <- struct{}{}
	}
	t.Cleanup(func() {
		for range callerMaxVerifying {
			<-h.app.callers.slots
		}
	})
	h.clk.Advance(callerVerifiedFor + time.Second)
	h.mustOK(h.call(a, "list_agents", map[string]any{}), "A after its verdict expired, every slot taken")
	if n := h.usageAsked(callerKeyA); n != 2 {
		t.Fatalf("A's key was verified %d times, want 2", n)
	}
	if resp := h.post(callerKeyB); resp.StatusCode != http.StatusServiceUnavailable || h.usageAsked(callerKeyB) != 0 {
		t.Fatalf("a new key with every slot taken: %d (asked %d), want 503 without asking", resp.StatusCode, h.usageAsked(callerKeyB))
	}
}

// TestCallerForeignSessionIDs: another caller's Mcp-Session-Id (GET stream, DELETE) and SSE
// sessionId (POST /message) get 404 and change nothing: the session goes on working for
// its owner.
func TestCallerForeignSessionIDs(t *testing.T) {
	h := newCallerHarness(t)
	a := h.connectAs(callerKeyA)
	sid := a.GetSessionId()
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequestWithContext(h.ctx, method, h.mcpURL, nil)
		req.Header.Set("Authorization", "Bearer "+callerKeyB)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("B's %s with A's session id: %d, want 404", method, resp.StatusCode)
		}
	}
	h.mustOK(h.call(a, "list_agents", map[string]any{}), "A's session after B's DELETE")

	sse := newCallerHarness(t, func(c *Config) { c.Transport = "sse" })
	srv := httptest.NewServer(sse.app.HTTPHandler("sse"))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodGet, srv.URL+"/sse", nil)
	req.Header.Set("Authorization", "Bearer "+callerKeyA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf, sseID := make([]byte, 4096), ""
	for sseID == "" {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("A's SSE stream: %v", err)
		}
		if _, after, ok := strings.Cut(string(buf[:n]), "sessionId="); ok {
			sseID = strings.Fields(after)[0]
		}
	}
	for _, key := range []string{callerKeyB, callerKeyA} {
		post, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, srv.URL+"/message?sessionId="+sseID, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		post.Header.Set("Authorization", "Bearer "+key)
		post.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(post)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if notFound := r.StatusCode == http.StatusNotFound; notFound != (key == callerKeyB) {
			t.Fatalf("POST /message into A's SSE session with key %q...: %d", key[:8], r.StatusCode)
		}
	}
}

// TestCallerOddBearers: bearers that cannot be API keys (600 bytes, non-ASCII, a tab or a
// space inside) are refused with 401 without asking the API, and none of them, nor any
// fragment, reaches the log.
func TestCallerOddBearers(t *testing.T) {
	h := newCallerHarness(t)
	odd := []string{
		"sk_live_" + strings.Repeat("x", 592),
		"sk_live_clé_élève_0123456789",
		"sk_live_tab\tinside_0123456789",
		"sk_live_space inside_0123456789",
	}
	for i, bearer := range odd {
		if i > 0 {
			h.clk.Advance(authMaxDelay) // past the wrong-key wait
		}
		resp := h.post(bearer)
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("odd bearer %d: %d, want 401", i, resp.StatusCode)
		}
		if h.usageAsked(bearer) != 0 {
			t.Fatalf("odd bearer %d was sent to the API", i)
		}
	}
	assertNoKeyLeak(t, "stderr", h.stderr.String(), odd...)
}

// TestCallerCannotGrowMetrics: the API-call histogram is labelled by endpoint; an id made
// only of letters (any caller picks the ids it asks for) must still become {id}, or each
// caller could add a series per request and grow the operator's metrics without bound.
func TestCallerCannotGrowMetrics(t *testing.T) {
	h := newCallerHarness(t)
	a := h.connectAs(callerKeyA)
	for i := range 30 {
		h.call(a, "get_agent", map[string]any{"agent_id": fmt.Sprintf("zz%c%cagent", 'a'+i%26, 'a'+i/26)})
	}
	mfs, err := h.app.ops.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "agent") && strings.Contains(l.GetValue(), "zz") {
					t.Fatalf("%s carries a caller's id in a label: %v", mf.GetName(), m.GetLabel())
				}
			}
		}
	}
	for in, want := range map[string]string{
		"/v1/agents/zzaaagent":                     "/v1/agents/{id}",
		"/v1/agents/voices":                        "/v1/agents/voices",
		"/v1/calls/abc/transcript/stream":          "/v1/calls/{id}/transcript/stream",
		"/v1/webhooks/deliveries/all-time":         "/v1/webhooks/deliveries/all-time",
		"/v1/numbers/abc/contact-card":             "/v1/numbers/{id}/contact-card",
		"/v1/usage/by-agent":                       "/v1/usage/by-agent",
		"/v1/conversations/abc/messages/whatever1": "/v1/conversations/{id}/messages/{id}",
	} {
		if got := endpointLabel(in); got != want {
			t.Errorf("endpointLabel(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestCallerOthersWholeKeyRedacted: another open caller's whole key never reaches a caller's
// result, even when the caller typed it; a fragment of it does (redacting fragments would
// be the guessing oracle; a whole key is as hard to guess as a valid bearer).
func TestCallerOthersWholeKeyRedacted(t *testing.T) {
	h := newCallerHarness(t)
	const keyC = "sk_live_Qm3Vt8Rz1Xw6Ny4Lp7Hd2Kb5" // shares only "sk_live_" with nothing of A's
	refC := &callerRef{id: h.app.accountID(keyC), key: keyguard.NewSecret(keyC)}
	h.app.callers.mu.Lock()
	h.app.callers.remember(refC.id, verdict{until: h.clk.Now().Add(time.Hour)})
	h.app.callers.mu.Unlock()
	_, releaseC, err := h.app.callers.acquire(h.ctx, refC) // C's account is open, its key held
	if err != nil {
		t.Fatal(err)
	}
	defer releaseC()
	a := h.connectAs(callerKeyA)
	prompt := func(arg string) string {
		t.Helper()
		req := mcp.GetPromptRequest{}
		req.Params.Name = "take_messages"
		req.Params.Arguments = map[string]string{"agent_id": "agt_x", "owner_name": arg}
		res, err := a.GetPrompt(h.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, m := range res.Messages {
			if tc, ok := m.Content.(mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return b.String()
	}
	assertNoKeyLeak(t, "A's prompt naming C's whole key", prompt("whole "+keyC+" end"), keyC)
	if frag := keyC[10:24]; !strings.Contains(prompt("part "+frag+" end"), frag) {
		t.Fatal("a fragment of C's key A typed came back redacted: an oracle")
	}
}
