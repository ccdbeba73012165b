package e2e

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// clientEntry is a server entry as an MCP client reads it from its config file.
type clientEntry struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
}

// readEntry reads the agentphone entry from a client's config file.
func readEntry(t *testing.T, path, serversKey string) clientEntry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]map[string]clientEntry
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	e, ok := cfg[serversKey]["agentphone"]
	if !ok {
		t.Fatalf("%s has no agentphone entry:\n%s", path, b)
	}
	return e
}

// startFromEntry starts the server the way a client does: the entry's command, args and env
// (and nothing of the installing shell's key).
func startFromEntry(t *testing.T, e clientEntry, extraEnv ...string) *client.Client {
	t.Helper()
	env := []string{"AGENTPHONE_API_KEY="}
	for k, v := range e.Env {
		env = append(env, k+"="+v)
	}
	env = append(env, extraEnv...)
	c, err := client.NewStdioMCPClientWithOptions(e.Command, env, e.Args, transport.WithCommandStderrWriter(os.Stderr))
	if err != nil {
		t.Fatalf("start %s %v: %v", e.Command, e.Args, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c)
	return c
}

// TestInstalledEntryStartsTheServer: `agentphone-mcp install` writes an entry that a client can
// start as is. The key reaches the API from the key file (the config holds none), the sandbox
// entry runs the simulated AgentPhone, and doctor sees both entries pointing at this binary.
func TestInstalledEntryStartsTheServer(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{APIKey: testKey})
	t.Cleanup(sb.Close)
	watch := &keyWatcher{next: sb}
	srv := httptest.NewServer(watch)
	t.Cleanup(srv.Close)
	home := t.TempDir()

	install := exec.Command(binary, "install", "claude-desktop")
	install.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AGENTPHONE_API_KEY=" + testKey}
	if out, err := install.CombinedOutput(); err != nil || !strings.Contains(string(out), "Created") {
		t.Fatalf("install: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(home, ".config", "Claude", "claude_desktop_config.json")
	if b, _ := os.ReadFile(cfgPath); strings.Contains(string(b), testKey) {
		t.Fatal("the key is in the client config")
	}
	e := readEntry(t, cfgPath, "mcpServers")
	if e.Command != binary || e.Env["AGENTPHONE_API_KEY_FILE"] == "" {
		t.Fatalf("entry %+v", e)
	}
	state := t.TempDir()
	c := startFromEntry(t, e, "HOME="+home, "AGENTPHONE_BASE_URL="+srv.URL, "AGENTPHONE_STATE_DIR="+state, "AGENTPHONE_LOG_LEVEL=warn")
	r := mustOK(t, callTool(t, c, "list_calls", map[string]any{}), "list_calls")
	if strings.Contains(r.text, "[sandbox]") {
		t.Fatalf("the real entry ran the sandbox: %s", r.text)
	}
	_ = c.Close()
	watch.mu.Lock()
	served, bad := watch.served, watch.bad
	watch.mu.Unlock()
	if served == 0 || len(bad) > 0 {
		t.Fatalf("the API saw %d requests; problems: %v", served, bad)
	}

	sbInstall := exec.Command(binary, "install", "vscode", "--sandbox")
	sbInstall.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	if out, err := sbInstall.CombinedOutput(); err != nil {
		t.Fatalf("install --sandbox: %v\n%s", err, out)
	}
	se := readEntry(t, filepath.Join(home, ".config", "Code", "User", "mcp.json"), "servers")
	sc := startFromEntry(t, se, "HOME="+home, "AGENTPHONE_STATE_DIR="+t.TempDir(), "AGENTPHONE_SANDBOX_NOW="+daytime, "AGENTPHONE_LOG_LEVEL=warn")
	if r := mustOK(t, callTool(t, sc, "list_calls", map[string]any{}), "list_calls (sandbox)"); !strings.Contains(strings.ToLower(r.text), "sandbox") {
		t.Fatalf("the sandbox entry does not say it is the sandbox: %s", r.text)
	}

	doctor := exec.Command(binary, "doctor", "--json")
	doctor.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AGENTPHONE_BASE_URL=" + srv.URL, "AGENTPHONE_STATE_DIR=" + state}
	out, err := doctor.Output()
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			ID, Status, Detail string
		} `json:"checks"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ch := range rep.Checks {
		got[ch.ID] = ch.Status + ": " + ch.Detail
	}
	for id, want := range map[string]string{
		"api_key": "ok: from the key file install wrote", "key_accepted": "ok", "key_file": "ok",
		"client_claude_desktop": "ok: runs this binary", "client_vscode": "ok: runs this binary; sandbox",
	} {
		if !strings.HasPrefix(got[id], want) {
			t.Errorf("doctor %s = %q, want %q...", id, got[id], want)
		}
	}
	if !rep.OK {
		t.Errorf("doctor: %v", got)
	}
}
