package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// fault is what the fake API does to an acting request after the simulated API acted on it.
type fault string

const (
	faultNone     fault = ""
	faultReset    fault = "reset"     // close the connection without an answer
	faultTimeout  fault = "timeout"   // hold the answer until the client gives up
	fault5xx      fault = "5xx"       // answer 500
	faultNotJSON  fault = "non-JSON"  // answer 200 with an HTML body
	faultEmpty2xx fault = "empty 2xx" // answer 200 with no body
	faultHang     fault = "hang"      // hold the request (before acting) until released
)

// fakeAPI is the simulated AgentPhone on loopback, counting the acting requests that reach
// it (POST /v1/messages, /v1/calls, /v1/numbers) and able to lose their answers after acting.
type fakeAPI struct {
	sb  *sandbox.Sandbox
	srv *httptest.Server

	mu       sync.Mutex
	faults   map[string]fault // by route "POST /v1/messages"
	received []received
	hangTo   string        // faultHang applies only to this recipient
	holdTo   string        // the API acts for this recipient, then its answer is held until released
	release  chan struct{} // closed to release hung requests
}

// received is one acting request the fake API got.
type received struct {
	route, to, body string
}

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	f := &fakeAPI{sb: sandbox.New(sandbox.Options{APIKey: testKey}), faults: map[string]fault{}, release: make(chan struct{})}
	t.Cleanup(f.sb.Close)
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		f.mu.Lock()
		select {
		case <-f.release:
		default:
			close(f.release)
		}
		f.mu.Unlock()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeAPI) setFault(route string, x fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[route] = x
}

// count returns how many acting requests reached route (to `to`, when not empty).
func (f *fakeAPI) count(route, to string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.received {
		if r.route == route && (to == "" || r.to == to) {
			n++
		}
	}
	return n
}

func (f *fakeAPI) all() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.received...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	acting := r.Method == http.MethodPost && (r.URL.Path == "/v1/messages" || r.URL.Path == "/v1/calls" || r.URL.Path == "/v1/numbers")
	if !acting {
		f.sb.ServeHTTP(w, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		To   string `json:"to_number"`
		To2  string `json:"toNumber"`
		Body string `json:"body"`
	}
	_ = json.Unmarshal(raw, &body)
	to := body.To + body.To2
	f.mu.Lock()
	x := f.faults[route]
	hang := f.hangTo != "" && to == f.hangTo
	hold := f.holdTo != "" && to == f.holdTo
	release := f.release
	if !hang {
		f.received = append(f.received, received{route: route, to: to, body: body.Body})
	}
	f.mu.Unlock()
	if hang {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, `{"detail":"gave up"}`, http.StatusServiceUnavailable)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	rec := httptest.NewRecorder()
	f.sb.ServeHTTP(rec, r) // the API acts
	if hold {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return
	}
	switch x {
	case faultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case faultTimeout:
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	case fault5xx:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"detail":"internal error"}`))
		return
	case faultNotJSON:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><body>OK</body></html>"))
		return
	case faultEmpty2xx:
		w.WriteHeader(http.StatusOK)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// sender creates an agent with a number on the fake API and returns the agent's id and
// the number's E.164.
func (f *fakeAPI) sender(t testing.TB) (agentID, from string) {
	t.Helper()
	ep, err := keyguard.ParseBaseURL(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret(testKey), nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ag, err := api.CreateAgent(ctx, apiclient.CreateAgentRequest{Name: "Ledger"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := api.BuyNumber(ctx, apiclient.BuyNumberRequest{AgentID: ag.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.received = nil // the set-up purchase is not a send under test
	f.mu.Unlock()
	return ag.ID, n.PhoneNumber
}

// ledgerEnv is the environment of a real-key server against the fake API on one state dir.
func ledgerEnv(t testing.TB, f *fakeAPI, stateDir string, extra ...string) []string {
	env := []string{
		"AGENTPHONE_API_KEY=" + testKey, "AGENTPHONE_BASE_URL=" + f.srv.URL, "AGENTPHONE_SANDBOX=",
		"AGENTPHONE_STATE_DIR=" + stateDir, "AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_LOG_LEVEL=error",
		"AGENTPHONE_TOOLSETS=all", "AGENTPHONE_CONFIRM_MODE=off",
	}
	return append(env, extra...)
}

// proc is one server process of the built binary with its MCP client.
type proc struct {
	c      *client.Client
	cmd    *exec.Cmd
	stderr *lockedBuffer
}

// startProc starts the binary over stdio (its process reachable for kill -9).
func startProc(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stderr: &lockedBuffer{}}
	tr := transport.NewStdioWithOptions(binary, env, args,
		transport.WithCommandFunc(func(ctx context.Context, command string, env []string, args []string) (*exec.Cmd, error) {
			cmd := exec.CommandContext(ctx, command, args...)
			cmd.Env = append(os.Environ(), env...)
			p.cmd = cmd
			return cmd, nil
		}))
	c := client.NewClient(tr)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start the server: %v", err)
	}
	go func() { _, _ = io.Copy(p.stderr, tr.Stderr()) }()
	p.c = c
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c)
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	_ = p.c.Close()
}

// runCLI runs the binary with args and returns its combined output and error.
func runCLI(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// smsArgs are send_sms arguments from the agent's number.
func smsArgs(agentID, to, body string) map[string]any {
	return map[string]any{"agent_id": agentID, "to_number": to, "body": body}
}

// numberN is the n-th valid US number of a test block (blocks of 1000 in +1650253xxxx).
func numberN(block, n int) string { return fmt.Sprintf("+1650253%04d", block*1000+n) }

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
