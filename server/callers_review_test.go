package server

// Adversarial checks of caller-key mode (review): what one caller can learn of another's key
// or state through the server's shared machinery.

import (
	"fmt"
	"strings"
	"sync"
	"testing"

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
