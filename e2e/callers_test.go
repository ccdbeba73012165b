package e2e

// Caller-key mode with the built binary (issue 12 item 6): each HTTP client sends its own
// AgentPhone API key as its bearer token. The standalone sandbox serves two accounts (one
// per key, from --keys-file); a counting proxy in front of it shows what the server asked.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	ptext "github.com/agentphone-mcp/agentphone-mcp/policy/text"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// randomKey is a key no output could contain by chance (base62, 40 characters).
func randomKey(t testing.TB, prefix string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte(prefix)
	for range 40 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, alphabet[n.Int64()])
	}
	return string(b)
}

// countingAPI is a reverse proxy to the standalone sandbox that counts GET /v1/usage (the
// key verification) by bearer.
type countingAPI struct {
	url   string
	mu    sync.Mutex
	usage map[string]int
}

func (c *countingAPI) asked(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usage[key]
}

// startCallerSandbox starts `agentphone-mcp sandbox --keys-file` with one account per key
// and a counting proxy in front; it returns the proxy and the sandbox's own base URL.
func startCallerSandbox(t *testing.T, keys ...string) (*countingAPI, string) {
	t.Helper()
	var file bytes.Buffer
	for i, k := range keys {
		fmt.Fprintf(&file, "account%d=%s\n", i+1, k)
	}
	keysFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keysFile, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(freePorts(t, 1)[0])
	sb := exec.Command(binary, "sandbox", "--listen", "127.0.0.1:"+port, "--auto-reply=false", "--keys-file", keysFile)
	sb.Stdout, sb.Stderr = io.Discard, io.Discard
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Process.Kill(); _ = sb.Wait() })
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/v1/usage")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	api := &countingAPI{usage: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/usage" {
			api.mu.Lock()
			api.usage[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]++
			api.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	api.url = srv.URL
	return api, base
}

// startCallerServer starts the binary in caller mode over env's transport and returns its
// base URL; its whole stderr is copied to stderr.
func startCallerServer(t *testing.T, stderr io.Writer, env []string) string {
	t.Helper()
	cmd := exec.Command(binary, "--transport", "http", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); <-done })
	found := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pipe)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(stderr, sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(20 * time.Second):
		t.Fatalf("the caller-mode server did not say where it listens; stderr: %v", stderr)
		return ""
	}
}

// callerClient is an initialized Streamable HTTP client sending key as its bearer; every
// text it receives (results, errors) is kept in seen for the leak check.
type callerClient struct {
	t    *testing.T
	c    *client.Client
	seen *lockedBuffer
}

func connectCaller(t *testing.T, base, key string, seen *lockedBuffer) *callerClient {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(base+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + key}))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	if err := c.Start(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	initialize(t, c)
	return &callerClient{t: t, c: c, seen: seen}
}

func (cc *callerClient) call(name string, args map[string]any) result {
	cc.t.Helper()
	r := callTool(cc.t, cc.c, name, args)
	raw, _ := json.Marshal(r.data)
	fmt.Fprintln(cc.seen, r.text, string(raw))
	return r
}

func (cc *callerClient) confirm(name string, args map[string]any) result {
	cc.t.Helper()
	first := cc.call(name, args)
	if first.str("status") != "confirmation_required" {
		return mustOK(cc.t, first, name)
	}
	return mustOK(cc.t, cc.call(name, with(args, "confirmation_token", first.str("confirmation_token"))), name+" (confirmed)")
}

// read reads a resource; it returns the text or the error (both kept in seen).
func (cc *callerClient) read(uri string) (string, error) {
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	res, err := cc.c.ReadResource(ctxFor(cc.t), req)
	if err != nil {
		fmt.Fprintln(cc.seen, err.Error())
		return "", err
	}
	var parts []string
	for _, c := range res.Contents {
		if tc, ok := c.(mcp.TextResourceContents); ok {
			parts = append(parts, tc.Text)
		}
	}
	text := strings.Join(parts, "\n")
	fmt.Fprintln(cc.seen, text)
	return text, nil
}

// noKeyFragment fails if any 8-character run of a key appears in text.
func noKeyFragment(t *testing.T, what, text string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		k = ptext.SecretPart(k) // the type tag ("sk_live_") is public
		for i := 0; i+8 <= len(k); i++ {
			if strings.Contains(text, k[i:i+8]) {
				t.Fatalf("%s carries the fragment %q of a caller's key", what, k[i:i+8])
			}
		}
	}
}

// TestCallerKeyMode: two callers, two accounts, one server. Each sees only its own numbers
// and messages; a token issued to A is refused for B; B can neither wait on A's call or
// reply nor read A's resources; A's opt-out does not stop B; the operator's global cap (the
// policy file) holds across both; a wrong key gets 401 and the API is asked about it once;
// no key, nor any 8-character part of one, appears on stderr, in a result or in an error.
func TestCallerKeyMode(t *testing.T) {
	keyA, keyB, wrong := randomKey(t, "apk_"), randomKey(t, "apk_"), randomKey(t, "apk_")
	api, sandboxURL := startCallerSandbox(t, keyA, keyB)
	signing := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(signing, []byte("an-e2e-signing-key-of-more-than-32-bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"global_limits": {"sms_day": 3}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	stderr := &lockedBuffer{}
	base := startCallerServer(t, stderr, []string{
		"AGENTPHONE_KEY_MODE=caller", "AGENTPHONE_API_KEY=", "AGENTPHONE_SANDBOX=", "AGENTPHONE_BASE_URL=" + api.url,
		"AGENTPHONE_STATE_DIR=" + state, "AGENTPHONE_SIGNING_KEY_FILE=" + signing, "AGENTPHONE_POLICY_FILE=" + policyFile,
		"AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_CONFIRM_MODE=auto", "AGENTPHONE_TOOLSETS=all", "AGENTPHONE_LOG_LEVEL=debug",
	})
	seen := &lockedBuffer{}
	a, b := connectCaller(t, base, keyA, seen), connectCaller(t, base, keyB, seen)

	setup := func(cc *callerClient, name string) (agentID, numberID, number string) {
		ag := cc.confirm("create_agent", map[string]any{"name": name, "voice_mode": "hosted", "system_prompt": "Be brief."})
		n := cc.confirm("buy_number", map[string]any{"agent_id": ag.str("id"), "area_code": "415"})
		return ag.str("id"), n.str("id"), n.str("phone_number")
	}
	agentA, numIDA, numberA := setup(a, "Alpha desk")
	agentB, _, numberB := setup(b, "Bravo desk")
	if r := mustOK(t, b.call("list_numbers", map[string]any{}), "B lists numbers"); strings.Contains(r.text, numberA) || !strings.Contains(r.text, numberB) {
		t.Fatalf("B's numbers: want only %s, got %s", numberB, r.text)
	}
	if r := mustOK(t, b.call("list_agents", map[string]any{}), "B lists agents"); strings.Contains(r.text, "Alpha desk") {
		t.Fatalf("B sees A's agent: %s", r.text)
	}

	// A token issued to A is refused for B (with B's agent and with A's).
	const r1 = "+14155550191"
	sms := func(agent, to, body string) map[string]any {
		return map[string]any{"agent_id": agent, "to_number": to, "body": body}
	}
	first := a.call("send_sms", sms(agentA, r1, "Your order is ready."))
	tokA := first.str("confirmation_token")
	if tokA == "" {
		t.Fatalf("A's first text: want a confirmation token, got %s", first.text)
	}
	for _, agent := range []string{agentB, agentA} {
		if r := b.call("send_sms", with(sms(agent, r1, "Your order is ready."), "confirmation_token", tokA)); !r.isError && r.str("status") != "confirmation_required" {
			t.Fatalf("B redeemed A's token: %s", r.text)
		}
	}
	sent := mustOK(t, a.call("send_sms", with(sms(agentA, r1, "Your order is ready."), "confirmation_token", tokA)), "A redeems its token")
	convA := sent.str("conversation_id")
	if convA == "" {
		t.Fatalf("A's text names no conversation: %v", sent.data)
	}

	// B reads and waits on nothing of A's.
	if r := b.call("list_conversations", map[string]any{}); strings.Contains(r.text, convA) || strings.Contains(r.text, "order is ready") {
		t.Fatalf("B lists A's conversation: %s", r.text)
	}
	for _, probe := range []struct {
		tool string
		args map[string]any
	}{
		{"get_conversation", map[string]any{"conversation_id": convA}},
		{"wait_for_reply", map[string]any{"conversation_id": convA, "timeout_seconds": 1}},
		{"list_messages", map[string]any{"number_id": numIDA}},
	} {
		if r := b.call(probe.tool, probe.args); !r.isError || strings.Contains(r.text, "order is ready") {
			t.Fatalf("B's %s on A's objects: %s", probe.tool, r.text)
		}
	}
	if _, err := b.read("agentphone://conversations/" + convA); err == nil {
		t.Fatal("B read A's conversation resource")
	}
	if text, err := b.read("agentphone://inbox"); err != nil || strings.Contains(text, "order is ready") || strings.Contains(text, numberA) {
		t.Fatalf("B's inbox resource: %v %s", err, text)
	}
	call := a.confirm("make_call", map[string]any{"agent_id": agentA, "to_number": "+14155550192", "topic": "Confirm the delivery window"})
	callID := call.str("id")
	if callID == "" {
		t.Fatalf("A's call has no id: %v", call.data)
	}
	if r := b.call("wait_for_call", map[string]any{"call_id": callID, "timeout_seconds": 1}); !r.isError {
		t.Fatalf("B waited on A's call: %s", r.text)
	}
	end := b.call("end_call", map[string]any{"call_id": callID})
	if tok := end.str("confirmation_token"); tok != "" {
		end = b.call("end_call", map[string]any{"call_id": callID, "confirmation_token": tok})
	}
	if !end.isError {
		t.Fatalf("B ended A's call: %s", end.text)
	}
	if r := b.call("list_calls", map[string]any{}); strings.Contains(r.text, callID) {
		t.Fatalf("B lists A's call: %s", r.text)
	}
	if _, err := b.read("agentphone://calls/" + callID); err == nil {
		t.Fatal("B read A's call resource")
	}

	// The recipient answers A: A's wait_for_reply gets it (no webhook receiver in caller mode:
	// the wait polls A's account), B's wait on that conversation does not.
	inject := func(body string) {
		t.Helper()
		msg, _ := json.Marshal(map[string]any{"from": r1, "to": numberA, "body": body})
		req, _ := http.NewRequest(http.MethodPost, sandboxURL+"/sandbox/inbound/sms", bytes.NewReader(msg))
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("inject %q: %v %v", body, err, resp)
		}
		resp.Body.Close()
	}
	since := time.Now().UTC().Add(-2 * time.Second).Format(time.RFC3339)
	inject("See you at noon")
	if r := mustOK(t, a.call("wait_for_reply", map[string]any{"conversation_id": convA, "since": since, "timeout_seconds": 10}), "A waits for the reply"); !strings.Contains(r.text, "See you at noon") {
		t.Fatalf("A's wait_for_reply did not return the reply: %s", r.text)
	}
	if r := b.call("wait_for_reply", map[string]any{"conversation_id": convA, "since": since, "timeout_seconds": 1}); !r.isError || strings.Contains(r.text, "See you at noon") {
		t.Fatalf("B's wait on A's conversation: %s", r.text)
	}

	// The recipient says STOP to A: A may not text them again, B may.
	inject("STOP")
	mustDenied(t, a.call("send_sms", sms(agentA, r1, "Are you coming?")), "opted_out", "A after its recipient's STOP")
	b.confirm("send_sms", sms(agentB, r1, "Hello from Bravo."))

	// The operator's global cap (3 texts a day across every caller) holds across both.
	a.confirm("send_sms", sms(agentA, "+14155550193", "Third text."))
	mustDenied(t, b.call("send_sms", sms(agentB, "+14155550194", "Fourth text.")), "global_limit", "B's text over the global cap")
	mustDenied(t, a.call("send_sms", sms(agentA, "+14155550195", "Fifth text.")), "global_limit", "A's text over the global cap")

	// A wrong key: 401 with WWW-Authenticate, no session; the API is asked once for both tries.
	for i := range 2 {
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+wrong)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintln(seen, string(msg))
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || resp.Header.Get("Mcp-Session-Id") != "" {
			t.Fatalf("wrong key, try %d: status %d WWW-Authenticate %q session %q", i+1, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Mcp-Session-Id"))
		}
	}
	if n := api.asked(wrong); n != 1 {
		t.Fatalf("the API was asked %d times about the wrong key, want 1", n)
	}
	if n := api.asked(keyA); n != 1 {
		t.Fatalf("A's key was verified %d times, want once for the whole run", n)
	}

	// One audit log per account, and no key anywhere.
	logs, _ := filepath.Glob(filepath.Join(state, "accounts", "*", "audit.jsonl"))
	if len(logs) != 2 {
		t.Fatalf("want one audit log per account, got %v", logs)
	}
	time.Sleep(100 * time.Millisecond) // let the last stderr lines arrive
	noKeyFragment(t, "the server's stderr", stderr.String(), keyA, keyB, wrong)
	noKeyFragment(t, "the results and errors", seen.String(), keyA, keyB, wrong)
	_ = filepath.Walk(state, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			body, _ := os.ReadFile(p)
			noKeyFragment(t, p, string(body), keyA, keyB, wrong)
		}
		return nil
	})
	if !strings.Contains(stderr.String(), "listening on") {
		t.Fatal("the captured stderr is empty: the leak check saw nothing")
	}
}

// TestCallerKeyModeTeam: caller-key mode on two replicas sharing one Redis behind HAProxy,
// as deploy/run-local.sh starts them (the sandbox serving one account per key). A token
// issued to caller A through replica 1 is redeemed by A through replica 2, once, and refused
// for caller B; the operator's global cap holds across both callers and both replicas; B
// sees nothing of A's; a wrong key gets 401 through the load balancer; no replica's log
// carries a fragment of a key.
func TestCallerKeyModeTeam(t *testing.T) {
	keyA, keyB, wrong := randomKey(t, "apk_"), randomKey(t, "apk_"), randomKey(t, "apk_")
	keysFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keysFile, []byte("alpha="+keyA+"\nbravo="+keyB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"global_limits": {"sms_day": 3}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	lb, replicas, _, work, _ := startTeamIn(t, "AGENTPHONE_KEY_MODE=caller", "AGENTPHONE_SANDBOX_KEYS_FILE="+keysFile,
		"AGENTPHONE_CONFIRM_MODE=auto", "AGENTPHONE_POLICY_FILE="+policyFile, "AGENTPHONE_LOG_LEVEL=debug")
	seen := &lockedBuffer{}
	a1, a2 := connectCaller(t, replicas[0], keyA, seen), connectCaller(t, replicas[1], keyA, seen)
	b2 := connectCaller(t, replicas[1], keyB, seen)
	bLB := connectCaller(t, lb, keyB, seen)

	agent := a1.confirm("create_agent", map[string]any{"name": "Alpha team desk", "voice_mode": "hosted", "system_prompt": "Be brief."})
	agentA := agent.str("id")
	a1.confirm("buy_number", map[string]any{"agent_id": agentA, "area_code": "415"})
	agentB := bLB.confirm("create_agent", map[string]any{"name": "Bravo team desk", "voice_mode": "hosted", "system_prompt": "Be brief."}).str("id")
	bLB.confirm("buy_number", map[string]any{"agent_id": agentB, "area_code": "415"})
	if r := mustOK(t, b2.call("list_agents", map[string]any{}), "B lists agents"); strings.Contains(r.text, "Alpha team desk") {
		t.Fatalf("B sees A's agent: %s", r.text)
	}

	sms := func(agent, to, body string) map[string]any {
		return map[string]any{"agent_id": agent, "to_number": to, "body": body}
	}
	first := a1.call("send_sms", sms(agentA, "+14155550181", "Team hello."))
	tok := first.str("confirmation_token")
	if tok == "" {
		t.Fatalf("want a confirmation token, got %s", first.text)
	}
	if r := b2.call("send_sms", with(sms(agentB, "+14155550181", "Team hello."), "confirmation_token", tok)); !r.isError && r.str("status") != "confirmation_required" {
		t.Fatalf("B redeemed A's token on replica 2: %s", r.text)
	}
	mustOK(t, a2.call("send_sms", with(sms(agentA, "+14155550181", "Team hello."), "confirmation_token", tok)), "A redeems on replica 2 a token issued on replica 1")
	if r := a1.call("send_sms", with(sms(agentA, "+14155550181", "Team hello."), "confirmation_token", tok)); !r.isError && r.str("status") != "confirmation_required" {
		t.Fatalf("A's token worked twice: %s", r.text)
	}

	// Global cap 3: A has 1; B sends 1 through replica 2; A 1 more through replica 1; then
	// neither caller, on either replica, gets another.
	b2.confirm("send_sms", sms(agentB, "+14155550182", "Bravo one."))
	a1.confirm("send_sms", sms(agentA, "+14155550183", "Alpha two."))
	mustDenied(t, b2.call("send_sms", sms(agentB, "+14155550184", "Bravo two.")), "global_limit", "B over the global cap")
	mustDenied(t, a2.call("send_sms", sms(agentA, "+14155550185", "Alpha three.")), "global_limit", "A over the global cap")

	req, _ := http.NewRequest(http.MethodPost, lb+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`))
	req.Header.Set("Authorization", "Bearer "+wrong)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong key through the load balancer: %d, want 401", resp.StatusCode)
	}
	for _, f := range []string{"replica1.log", "replica2.log"} {
		body, _ := os.ReadFile(filepath.Join(work, f))
		noKeyFragment(t, f, string(body), keyA, keyB, wrong)
	}
	noKeyFragment(t, "the results and errors", seen.String(), keyA, keyB, wrong)
}
