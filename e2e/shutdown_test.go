package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/policy/audit"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// startAPIServer runs the binary's HTTP transport against the API at env's base URL (not in
// sandbox mode) and returns it once it listens.
func startAPIServer(t testing.TB, env []string) *server {
	t.Helper()
	return startListening(t, env, "--transport", "http", "--listen", "127.0.0.1:0")
}

// TestSIGTERMSettlesASendInFlight: a send_sms hangs at the API (the simulated API holds its
// answer for an hour) when the process gets SIGTERM. The process exits 0 within the shutdown
// grace and a bound, and the send is on the books as unknown (it may have been sent: it
// stays counted), with an outcome line: the audit log verifies and has no intent without
// an outcome.
func TestSIGTERMSettlesASendInFlight(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{APIKey: testKey})
	t.Cleanup(sb.Close)
	// The body is read before the simulated API holds its answer, so the server notices the
	// client's connection closing (as a real API would) and the held request ends with it.
	atAPI := make(chan struct{}, 1) // a send_sms reached the API
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.Method == http.MethodPost && r.URL.Path == "/v1/messages" {
			select {
			case atAPI <- struct{}{}:
			default:
			}
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	state := t.TempDir()
	s := startAPIServer(t, []string{
		"AGENTPHONE_API_KEY=" + testKey, "AGENTPHONE_BASE_URL=" + api.URL, "AGENTPHONE_SANDBOX=",
		"AGENTPHONE_STATE_DIR=" + state, "AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_CONFIRM_MODE=off",
		"AGENTPHONE_TOOLSETS=all", "AGENTPHONE_LOG_LEVEL=warn", "AGENTPHONE_SHUTDOWN_GRACE=1s",
	})
	c := connectHTTP(t, s.base)
	agent := mustOK(t, callTool(t, c, "create_agent", map[string]any{"name": "Shutdown desk"}), "create_agent")
	mustOK(t, callTool(t, c, "buy_number", map[string]any{"agent_id": agent.str("id"), "area_code": "415"}), "buy_number")

	sb.SetFault("POST /v1/messages", sandbox.Fault{Latency: time.Hour})
	const to = "+14155550190"
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		req := mcp.CallToolRequest{}
		req.Params.Name = "send_sms"
		req.Params.Arguments = map[string]any{"agent_id": agent.str("id"), "to_number": to, "body": "Your parcel is on its way."}
		_, _ = c.CallTool(ctxFor(t), req) // the answer may or may not arrive: the process is stopping
	}()
	// The send is on the books (its intent line is written before the API call) and held at
	// the API.
	select {
	case <-atAPI:
	case <-time.After(20 * time.Second):
		t.Fatalf("the send never reached the API:\n%s", s.stderr.String())
	}
	logPath := filepath.Join(state, audit.DefaultFileName)
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), `"phase":"intent"`) || !strings.Contains(string(b), to) {
		t.Fatalf("the send reached the API without an intent line:\n%s", b)
	}

	code, took := s.stop(t, syscall.SIGTERM, 10*time.Second)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, s.stderr.String())
	}
	// The grace (1 s), then a second for cancelled calls, then closing: well under 5 s.
	if took > 5*time.Second {
		t.Fatalf("SIGTERM took %v with the grace at 1s", took)
	}
	t.Logf("exited 0 in %v", took.Round(time.Millisecond))

	st, err := store.Open(state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.Entries(context.Background(), store.EntryFilter{Recipient: to})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].State != store.Unknown || !entries[0].State.Counts() {
		t.Fatalf("ledger entries for %s after SIGTERM: %+v; want one unknown (counted)", to, entries)
	}
	rep, err := audit.Inspect(logPath)
	if err != nil {
		t.Fatalf("the audit log does not verify after SIGTERM: %v", err)
	}
	if len(rep.Open) != 0 {
		t.Fatalf("%d intents without an outcome after SIGTERM: %+v", len(rep.Open), rep.Open)
	}
	var outcomes []string
	if _, err := audit.Scan(logPath, func(e audit.Entry) error {
		if e.Phase == audit.PhaseOutcome && e.Ledger == entries[0].ID {
			outcomes = append(outcomes, e.Outcome+": "+e.Note+e.Error)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(outcomes) == 0 || !strings.HasPrefix(outcomes[len(outcomes)-1], "unknown") {
		t.Fatalf("the send's outcome lines: %q; want it to end unknown", outcomes)
	}
	t.Logf("outcome lines: %q", outcomes)
	out, err := exec.Command(binary, "audit", "verify", logPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Every send intent has its outcome") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	<-answered
}
