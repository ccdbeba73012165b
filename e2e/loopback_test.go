package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// testKey is the API key the binary is given in loopback tests. It must reach the API (the
// sandbox checks it) and appear nowhere else.
const testKey = "sk_live_e2eKEY0123456789abcdefXYZ"

// keyWatcher records whether any request reached the simulated API without the key, or with
// it anywhere but the Authorization header.
type keyWatcher struct {
	mu     sync.Mutex
	bad    []string
	next   http.Handler
	served int
}

func (k *keyWatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.served++
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		k.bad = append(k.bad, r.Method+" "+r.URL.Path+": wrong Authorization")
	}
	if strings.Contains(r.URL.String(), testKey) {
		k.bad = append(k.bad, r.Method+" "+r.URL.Path+": key in the URL")
	}
	k.mu.Unlock()
	k.next.ServeHTTP(w, r)
}

// TestAgainstLoopbackAPI runs the binary with a real key against a simulated API served on
// loopback: the key guard's local-testing mode. It checks an API 500, an unknown agent, and
// that the key never appears in a result or on stderr.
func TestAgainstLoopbackAPI(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{APIKey: testKey})
	t.Cleanup(sb.Close)
	watch := &keyWatcher{next: sb}
	srv := httptest.NewServer(watch)
	t.Cleanup(srv.Close)

	env := []string{
		"AGENTPHONE_API_KEY=" + testKey, "AGENTPHONE_BASE_URL=" + srv.URL, "AGENTPHONE_SANDBOX=",
		"AGENTPHONE_STATE_DIR=" + t.TempDir(), "AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_LOG_LEVEL=debug",
		"AGENTPHONE_CONFIRM_MODE=off",
	}
	var stderr lockedBuffer
	c := startStdioLogged(t, &stderr, env)
	// The default toolsets: agents come on request.
	mustOK(t, callTool(t, c, "enable_toolset", map[string]any{"toolset": "agents"}), "enable_toolset")

	r := mustOK(t, callTool(t, c, "create_agent", map[string]any{"name": "Loop"}), "create_agent")
	if r.data["sandbox"] == true || strings.Contains(r.text, "[sandbox]") {
		t.Fatalf("a real-key server must not call itself a sandbox: %s", r.text)
	}
	sb.SetFault("POST /v1/agents", sandbox.Fault{Status: 500, Message: "boom " + testKey})
	r = callTool(t, c, "create_agent", map[string]any{"name": "Loop2"})
	if !r.isError || !strings.Contains(r.text, "500") {
		t.Fatalf("API 500: want an isError result, got %s", r.text)
	}
	if strings.Contains(r.text, testKey) || strings.Contains(strings.Join(mapValues(r.data), " "), testKey) {
		t.Fatalf("the key echoed by the API reached the model: %s", r.text)
	}
	r = callTool(t, c, "make_call", map[string]any{"agent_id": "agt_missing", "to_number": "+14155550142"})
	if !r.isError || !strings.Contains(r.text, "404") {
		t.Fatalf("unknown agent: %s", r.text)
	}

	_ = c.Close()
	logs := stderr.String()
	if !strings.Contains(logs, "loopback") {
		t.Errorf("stderr should warn that the base URL is a loopback address: %s", logs)
	}
	if strings.Contains(logs, testKey) {
		t.Fatalf("the key reached stderr: %s", logs)
	}

	watch.mu.Lock()
	defer watch.mu.Unlock()
	if watch.served == 0 || len(watch.bad) > 0 {
		t.Fatalf("served %d requests; problems: %v", watch.served, watch.bad)
	}
}

func mapValues(m map[string]any) []string {
	var out []string
	for _, v := range m {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
