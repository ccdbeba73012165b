package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// readyz asks the App's /readyz over real HTTP.
func readyz(t *testing.T, h *harness) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h.app.HTTPHandler("http"))
	defer srv.Close()
	resp, err := http.Get(srv.URL + ReadyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyzChecksTheAPIKey: the sandbox accepting the key -> ready; probes within 30 s
// reuse the answer; the API answering 500 keeps the replica ready (saying so) for the grace
// period, then not; the API back -> ready.
func TestReadyzChecksTheAPIKey(t *testing.T) {
	h := newHarness(t)
	code, body := readyz(t, h)
	if code != http.StatusOK || !strings.Contains(body, "api key accepted") {
		t.Fatalf("/readyz = %d %q; want 200 with the key accepted", code, body)
	}
	for range 5 {
		if code, _ := readyz(t, h); code != http.StatusOK {
			t.Fatalf("/readyz = %d", code)
		}
	}
	if n := h.app.keyCheck.checks; n != 1 {
		t.Fatalf("6 probes within 30 s asked the API %d times; want 1", n)
	}

	h.sb.SetFault("GET /v1/usage", sandbox.Fault{Status: 500})
	h.clk.Advance(keyCheckEvery)
	code, body = readyz(t, h)
	if code != http.StatusOK || !strings.Contains(body, "api unreachable") || !strings.Contains(body, "HTTP 500") {
		t.Fatalf("/readyz with the API failing = %d %q; want 200 that reports it", code, body)
	}
	h.clk.Advance(keyCheckGrace)
	code, body = readyz(t, h)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "api unreachable for 2m") {
		t.Fatalf("/readyz with the API failing past the grace = %d %q; want 503", code, body)
	}
	if n := h.app.keyCheck.checks; n != 3 {
		t.Fatalf("the API was asked %d times; want 3", n)
	}

	h.sb.ClearFaults()
	h.clk.Advance(keyCheckEvery)
	if code, body := readyz(t, h); code != http.StatusOK || !strings.Contains(body, "api key accepted") {
		t.Fatalf("/readyz with the API back = %d %q", code, body)
	}
}

// TestReadyzKeyRejected: the sandbox answering 401 (it accepts another key only) -> 503
// "api key rejected", and the body holds no part of the key.
func TestReadyzKeyRejected(t *testing.T) {
	clk := clockwork.NewFakeClockAt(testStart)
	const accepted = "the-only-key-the-sandbox-accepts"
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1, APIKey: accepted})
	t.Cleanup(sb.Close)
	h := newTodayHarness(t, "", Options{Clock: clk, Sandbox: sb})
	code, body := readyz(t, h)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "api key rejected") || !strings.Contains(body, "401") {
		t.Fatalf("/readyz with a rejected key = %d %q; want 503 api key rejected", code, body)
	}
	for _, secret := range []string{SandboxKey, SandboxKey[:8], SandboxKey[len(SandboxKey)-8:], accepted} {
		if strings.Contains(body, secret) {
			t.Fatalf("/readyz body shows a key fragment %q: %q", secret, body)
		}
	}
	// Still rejected on the next probes, without asking again within 30 s.
	h.clk.Advance(10 * time.Second)
	if code, _ := readyz(t, h); code != http.StatusServiceUnavailable || h.app.keyCheck.checks != 1 {
		t.Fatalf("/readyz = %d after %d checks", code, h.app.keyCheck.checks)
	}
}
