package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore/redistest"
)

// freePorts asks the kernel for n free loopback ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return out
}

// TestTeamDeployment runs deploy/run-local.sh as shipped (Redis, the standalone sandbox as
// the API, two replicas of the built binary, HAProxy in front), then sends 40 concurrent
// send_sms to one recipient through HAProxy, each on its own MCP session (so they spread
// over both replicas): the API receives exactly the cap (5 per recipient per hour).
// startTeam runs deploy/run-local.sh with free ports and the built binary, waits until
// HAProxy routes to both replicas, and returns the load balancer's and the replicas' base
// URLs and the sandbox API's port. extraEnv reaches the replicas.
func startTeam(t testing.TB, extraEnv ...string) (lb string, replicas []string, apiPort string) {
	lb, replicas, apiPort, _, _ = startTeamIn(t, extraEnv...)
	return lb, replicas, apiPort
}

// startTeamIn is startTeam that also returns the script's work dir (logs, replica pid
// files) and Redis's port.
func startTeamIn(t testing.TB, extraEnv ...string) (lb string, replicas []string, apiPort, work string, redisPort int) {
	t.Helper()
	for _, tool := range []string{"redis-server", "redis-cli", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: apt-get install -y redis-server haproxy (.ci/run does)", tool)
		}
	}
	p := freePorts(t, 8)
	work = t.TempDir()
	cmd := exec.Command("../deploy/run-local.sh")
	cmd.Env = append(os.Environ(),
		"AGENTPHONE_BIN="+binary, "AGENTPHONE_DEPLOY_DIR="+work, "AGENTPHONE_API_KEY=", "AGENTPHONE_BASE_URL=",
		"AGENTPHONE_SANDBOX_ARGS=--auto-reply=false",
		"REDIS_PORT="+strconv.Itoa(p[0]), "SANDBOX_PORT="+strconv.Itoa(p[1]), "LB_PORT="+strconv.Itoa(p[2]),
		"R1_PORT="+strconv.Itoa(p[3]), "R2_PORT="+strconv.Itoa(p[4]), "LB_WEBHOOK_PORT="+strconv.Itoa(p[5]),
		"R1_WEBHOOK_PORT="+strconv.Itoa(p[6]), "R2_WEBHOOK_PORT="+strconv.Itoa(p[7]),
		// The standalone sandbox runs on real time: no quiet hours, so the test runs at any hour;
		// confirmations off, so the caps alone decide.
		"AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_CONFIRM_MODE=off", "AGENTPHONE_TOOLSETS=all", "AGENTPHONE_LOG_LEVEL=warn",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			for _, f := range []string{"replica1.log", "replica2.log", "haproxy.log", "sandbox.log"} {
				b, _ := os.ReadFile(filepath.Join(work, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	lb = "http://127.0.0.1:" + strconv.Itoa(p[2])
	replicas = []string{"http://127.0.0.1:" + strconv.Itoa(p[3]), "http://127.0.0.1:" + strconv.Itoa(p[4])}
	// Ready when HAProxy answers /readyz from a replica and both replicas are ready.
	deadline := time.Now().Add(60 * time.Second)
	for _, u := range append([]string{lb}, replicas...) {
		for {
			resp, err := http.Get(u + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-exited:
				t.Fatal("deploy/run-local.sh exited before the set-up was ready")
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s/readyz never answered 200 (last: %v)", u, err)
			}
			time.Sleep(100 * time.Millisecond) // waiting for real processes to start
		}
	}
	// HAProxy's health checks must see both replicas up before the burst: round-robin then
	// answers from each (it names the replica in a header).
	seen := map[string]bool{}
	for len(seen) < 2 {
		resp, err := http.Get(lb + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				seen[resp.Header.Get("X-Agentphone-Replica")] = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy never routed to both replicas (saw %v)", seen)
		}
		time.Sleep(100 * time.Millisecond) // HAProxy's health checks run on real time
	}

	return lb, replicas, strconv.Itoa(p[1]), work, p[0]
}

func TestTeamDeployment(t *testing.T) {
	lb, replicas, apiPort := startTeam(t)
	connect := func() *client.Client { return connectHTTP(t, lb) }
	setup := connect()
	agent := mustOK(t, callTool(t, setup, "create_agent", map[string]any{"name": "Team desk"}), "create_agent")
	mustOK(t, callTool(t, setup, "buy_number", map[string]any{"agent_id": agent.str("id"), "area_code": "415"}), "buy_number")

	const recipient = "+14155550180"
	clients := make([]*client.Client, 40)
	for i := range clients {
		clients[i] = connect()
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := callTool(t, c, "send_sms", map[string]any{"agent_id": agent.str("id"), "to_number": recipient,
				"body": fmt.Sprintf("Your order %d is ready.", i)})
			if !r.isError {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Errorf("%d of 40 send_sms succeeded through two replicas; the cap is 5 per recipient per hour", ok.Load())
	}
	if got := apiSentTo(t, apiPort, recipient); got != 5 {
		t.Fatalf("the API received %d texts to %s; the cap is 5", got, recipient)
	}
	// Both replicas served part of the burst.
	sendCalls := regexp.MustCompile(`agentphone_tool_calls_total\{outcome="[a-z_]+",tool="send_sms"\} (\d+)`)
	for i, u := range replicas {
		resp, err := http.Get(u + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n := 0
		for _, m := range sendCalls.FindAllStringSubmatch(string(body), -1) {
			v, _ := strconv.Atoi(m[1])
			n += v
		}
		if n == 0 {
			t.Errorf("replica %d served none of the 40 send_sms: HAProxy did not spread the sessions", i+1)
		}
		t.Logf("replica %d served %d send_sms", i+1, n)
	}
}

// apiSentTo counts the outbound texts the sandbox API holds for one recipient, asking it
// directly (not through a replica).
func apiSentTo(t testing.TB, port, to string) int {
	t.Helper()
	ep, err := keyguard.ParseBaseURL("http://127.0.0.1:" + port)
	if err != nil {
		t.Fatal(err)
	}
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret("any-key"), nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	page, err := api.ListConversations(ctx, apiclient.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, conv := range page.Data {
		if conv.Participant == to {
			n += conv.MessageCount
		}
	}
	return n
}

// TestRedisOutageWithBinary: a replica of the built binary on a real Redis. Redis stopped
// mid-run: send_sms is refused with an error naming Redis and nothing reaches the API;
// a read that needs no shared state still works; /readyz says 503. Redis back (empty, as a
// restarted Redis without persistence): sends go through again without a restart.
func TestRedisOutageWithBinary(t *testing.T) {
	r, err := redistest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	p := freePorts(t, 1)
	sb := exec.Command(binary, "sandbox", "--listen", "127.0.0.1:"+strconv.Itoa(p[0]), "--auto-reply=false")
	sb.Stdout, sb.Stderr = io.Discard, io.Discard
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Process.Kill(); _ = sb.Wait() })
	key := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(key, []byte("an-e2e-signing-key-of-more-than-32-bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := startHTTPServer(t, "http", []string{
		"AGENTPHONE_API_KEY=any-key-for-the-sandbox", "AGENTPHONE_BASE_URL=http://127.0.0.1:" + strconv.Itoa(p[0]),
		"AGENTPHONE_SANDBOX=", "AGENTPHONE_STATE_DIR=" + t.TempDir(), "AGENTPHONE_REDIS_URL=" + r.URL(),
		"AGENTPHONE_SIGNING_KEY_FILE=" + key, "AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_CONFIRM_MODE=off",
		"AGENTPHONE_TOOLSETS=all", "AGENTPHONE_LOG_LEVEL=warn",
	})
	c := connectHTTP(t, base)
	agent := mustOK(t, callTool(t, c, "create_agent", map[string]any{"name": "Outage desk"}), "create_agent")
	mustOK(t, callTool(t, c, "buy_number", map[string]any{"agent_id": agent.str("id"), "area_code": "415"}), "buy_number")
	const to = "+14155550181"
	send := func(body string) result {
		return callTool(t, c, "send_sms", map[string]any{"agent_id": agent.str("id"), "to_number": to, "body": body})
	}
	ready := func() int {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	mustOK(t, send("Before the outage."), "send with Redis up")

	r.Stop()
	if res := send("During the outage."); !res.isError || !regexp.MustCompile(`Redis`).MatchString(res.text) {
		t.Fatalf("send with Redis down = %s; want a refusal naming Redis", res.text)
	}
	if got := apiSentTo(t, strconv.Itoa(p[0]), to); got != 1 {
		t.Fatalf("the API holds %d texts; the one during the outage must not have gone", got)
	}
	mustOK(t, callTool(t, c, "list_agents", map[string]any{}), "list_agents with Redis down")
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down = %d", code)
	}

	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	mustOK(t, send("After the outage."), "send after Redis came back")
	if code := ready(); code != http.StatusOK {
		t.Fatalf("/readyz after Redis came back = %d", code)
	}
	if got := apiSentTo(t, strconv.Itoa(p[0]), to); got != 2 {
		t.Fatalf("the API holds %d texts, want 2", got)
	}
}

// TestTeamReplicaKilled: one replica is killed (SIGKILL) in the middle of a burst of 40
// send_sms to one recipient: the other keeps serving through HAProxy, and whatever the
// dead replica had reserved stays counted, so the API never receives more than the cap,
// and no more than the ledger counts (nothing sent twice, nothing uncounted).
func TestTeamReplicaKilled(t *testing.T) {
	lb, _, apiPort, work, redisPort := startTeamIn(t)
	connect := func() *client.Client { return connectHTTP(t, lb) }
	setup := connect()
	agent := mustOK(t, callTool(t, setup, "create_agent", map[string]any{"name": "Kill desk"}), "create_agent")
	mustOK(t, callTool(t, setup, "buy_number", map[string]any{"agent_id": agent.str("id"), "area_code": "415"}), "buy_number")
	const recipient = "+14155550182"
	send := func(c *client.Client, i int) {
		req := mcp.CallToolRequest{}
		req.Params.Name = "send_sms"
		req.Params.Arguments = map[string]any{"agent_id": agent.str("id"), "to_number": recipient, "body": fmt.Sprintf("Burst text %d.", i)}
		_, _ = c.CallTool(ctxFor(t), req) // sessions on the killed replica fail: that is the point
	}
	clients := make([]*client.Client, 40)
	for i := range clients {
		clients[i] = connect()
	}
	pidText, err := os.ReadFile(filepath.Join(work, "replica1.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); send(c, i) }()
		if i == 10 {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	// The survivor serves new sessions through HAProxy, and refuses past the cap.
	after := connect()
	mustOK(t, callTool(t, after, "list_agents", map[string]any{}), "list_agents after the kill")
	for i := range 6 {
		send(after, 100+i)
	}
	st, err := redisstore.Open(context.Background(), redisstore.Conn{URL: "redis://127.0.0.1:" + strconv.Itoa(redisPort) + "/0"}, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.Entries(context.Background(), store.EntryFilter{Recipient: recipient})
	if err != nil {
		t.Fatal(err)
	}
	counted := 0
	for _, e := range entries {
		if e.State.Counts() {
			counted++
		}
	}
	api := apiSentTo(t, apiPort, recipient)
	t.Logf("API received %d; the ledger counts %d (%d entries)", api, counted, len(entries))
	if counted != 5 || api > counted {
		t.Fatalf("after a replica was killed mid-burst the ledger counts %d and the API received %d; want 5 counted and no more sent than counted", counted, api)
	}
}

// TestTeamStatelessRoundRobin: clients on protocol 2026-07-28 send stateless requests (no
// session id), so HAProxy routes them round-robin with no stickiness. Every request works on
// whichever replica gets it; a confirmation token previewed through one replica is redeemed
// through the other, once: the second redemption is refused, and the API bought one number.
func TestTeamStatelessRoundRobin(t *testing.T) {
	lb, _, apiPort := startTeam(t, "AGENTPHONE_CONFIRM_MODE=auto")
	call := func(name string, args map[string]any) (replica string, sc map[string]any) {
		t.Helper()
		params := map[string]any{"name": name, "arguments": args,
			"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": map[string]any{}}}
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
		req, _ := http.NewRequestWithContext(ctxFor(t), http.MethodPost, lb+"/mcp", strings.NewReader(string(msg)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", name)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stateless %s through HAProxy: HTTP %d %s", name, resp.StatusCode, body)
		}
		if resp.Header.Get("Mcp-Session-Id") != "" {
			t.Fatalf("a stateless request got a session id %q", resp.Header.Get("Mcp-Session-Id"))
		}
		last := string(body)
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "data:") {
				last = strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
		var r struct {
			Result struct {
				StructuredContent map[string]any `json:"structuredContent"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(last), &r); err != nil {
			t.Fatalf("%s: %v: %s", name, err, body)
		}
		return resp.Header.Get("X-Agentphone-Replica"), r.Result.StructuredContent
	}
	seen := map[string]int{}
	for range 6 {
		rep, sc := call("list_agents", map[string]any{})
		if sc == nil {
			t.Fatal("list_agents answered no structured content")
		}
		seen[rep]++
	}
	if len(seen) != 2 {
		t.Fatalf("stateless requests were served by %v; want both replicas (round-robin, no stickiness)", seen)
	}
	previewOn, preview := call("buy_number", map[string]any{"area_code": "415"})
	tok, _ := preview["confirmation_token"].(string)
	if tok == "" {
		t.Fatalf("buy_number preview: %v", preview)
	}
	args := map[string]any{"area_code": "415", "confirmation_token": tok}
	// Round-robin alternates between the two replicas: once a read lands on the previewing
	// replica, the next request goes to the other one, and that one carries the token.
	var confirmOn string
	var bought map[string]any
	for range 4 {
		if rep, _ := call("list_agents", map[string]any{}); rep == previewOn {
			confirmOn, bought = call("buy_number", args)
			break
		}
	}
	if confirmOn == previewOn {
		t.Fatalf("the confirmation landed on the previewing replica %s: the test could not cross replicas", previewOn)
	}
	if confirmOn == "" || bought["id"] == nil {
		t.Fatalf("token previewed on %s, redeemed on %q: %v; want a number bought", previewOn, confirmOn, bought)
	}
	_, again := call("buy_number", args)
	if again["status"] != "confirmation_refused" {
		t.Fatalf("a second redemption of one token: %v; want confirmation_refused", again)
	}
	if n := apiNumbers(t, apiPort); n != 1 {
		t.Fatalf("the API holds %d numbers; want exactly 1", n)
	}
}

// apiNumbers counts the numbers the sandbox API holds, asking it directly.
func apiNumbers(t testing.TB, port string) int {
	t.Helper()
	ep, err := keyguard.ParseBaseURL("http://127.0.0.1:" + port)
	if err != nil {
		t.Fatal(err)
	}
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret("any-key"), nil)})
	if err != nil {
		t.Fatal(err)
	}
	page, err := api.ListNumbers(ctxFor(t), apiclient.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Data)
}
