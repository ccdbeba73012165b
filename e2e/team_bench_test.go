package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// BenchmarkTeam starts deploy/run-local.sh twice (the built binary, Redis, HAProxy, the
// standalone sandbox as the API) and one more replica on a state file (bbolt) with its own
// standalone sandbox, each set-up on an empty API of its own, and measures, with 50 concurrent MCP sessions, reads (list_agents)
// and sends (send_sms to distinct recipients) per second and their p50/p99: on bbolt, on
// Redis through one replica directly, and through two behind HAProxy. It prints a table
// (scripts/bench-team runs it):
//
//	go test -run '^$' -bench Team -benchtime 1x ./e2e/
func BenchmarkTeam(b *testing.B) {
	policy := filepath.Join(b.TempDir(), "policy.json")
	// Caps high enough that every send to a distinct recipient is a real send.
	if err := os.WriteFile(policy, []byte(`{"limits": {"new_recipients_day": 1000000, "sms_segments_hour": 1000000}}`), 0o600); err != nil {
		b.Fatal(err)
	}
	// Each set-up gets an API (a standalone sandbox) of its own, empty at the start: every
	// send's opt-out check lists the account's conversations, so a set-up measured after
	// another on the same API would pay for the other's 500 conversations.
	_, replicas, apiPort := startTeam(b, "AGENTPHONE_POLICY_FILE="+policy)
	lb, _, lbAPI := startTeam(b, "AGENTPHONE_POLICY_FILE="+policy)
	// The same binary with the state file (bbolt) instead of Redis, on its own standalone
	// sandbox (so it starts, like the first Redis run, on an API without conversations):
	// what Redis costs per request.
	boltAPI := strconv.Itoa(freePorts(b, 1)[0])
	sb := exec.Command(binary, "sandbox", "--listen", "127.0.0.1:"+boltAPI, "--auto-reply=false")
	if err := sb.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sb.Process.Kill(); _ = sb.Wait() })
	bolt := startHTTPServer(b, "http", []string{
		"AGENTPHONE_API_KEY=sandbox-any-key-works", "AGENTPHONE_BASE_URL=http://127.0.0.1:" + boltAPI, "AGENTPHONE_SANDBOX=",
		"AGENTPHONE_STATE_DIR=" + b.TempDir(), "AGENTPHONE_POLICY_FILE=" + policy, "AGENTPHONE_REDIS_URL=",
		"AGENTPHONE_QUIET_HOURS=off", "AGENTPHONE_CONFIRM_MODE=off", "AGENTPHONE_TOOLSETS=all", "AGENTPHONE_LOG_LEVEL=warn",
	})
	const sessions, perSession = 50, 10
	type row struct {
		target, op     string
		perSec         float64
		p50, p99, errs string
		convs          int // conversations in the API when the run started (each send's opt-out check lists them)
	}
	var rows []row
	recipient := 0
	var recMu sync.Mutex
	nextRecipient := func() string {
		recMu.Lock()
		defer recMu.Unlock()
		recipient++
		return fmt.Sprintf("+1650253%04d", recipient)
	}
	for _, target := range []struct{ name, url, api string }{
		{"1 replica, bbolt", bolt, boltAPI}, {"1 replica, Redis", replicas[0], apiPort}, {"2 replicas, Redis, HAProxy", lb, lbAPI},
	} {
		clients := make([]*client.Client, sessions)
		for i := range clients {
			tr, err := transport.NewStreamableHTTP(target.url + "/mcp")
			if err != nil {
				b.Fatal(err)
			}
			c := client.NewClient(tr)
			if err := c.Start(ctxFor(b)); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = c.Close() })
			initialize(b, c)
			clients[i] = c
		}
		agent := mustOK(b, callTool(b, clients[0], "create_agent", map[string]any{"name": "Bench " + target.name}), "create_agent")
		mustOK(b, callTool(b, clients[0], "buy_number", map[string]any{"agent_id": agent.str("id"), "area_code": "415"}), "buy_number")
		for _, op := range []string{"read", "send"} {
			lat := make([]time.Duration, 0, sessions*perSession)
			var mu sync.Mutex
			var failed int
			var wg sync.WaitGroup
			convs := apiConversations(b, target.api)
			start := time.Now()
			for _, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range perSession {
						t0 := time.Now()
						var r result
						if op == "read" {
							r = callTool(b, c, "list_agents", map[string]any{})
						} else {
							r = callTool(b, c, "send_sms", map[string]any{"agent_id": agent.str("id"), "to_number": nextRecipient(), "body": "Benchmark text."})
						}
						d := time.Since(t0)
						mu.Lock()
						lat = append(lat, d)
						if r.isError {
							if failed == 0 {
								fmt.Printf("first error (%s, %s): %.300s\n", target.name, op, r.text)
							}
							failed++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			slices.Sort(lat)
			rows = append(rows, row{target.name, op, float64(len(lat)) / elapsed.Seconds(),
				lat[len(lat)/2].Round(100 * time.Microsecond).String(), lat[len(lat)*99/100].Round(100 * time.Microsecond).String(), fmt.Sprint(failed), convs})
		}
	}
	fmt.Printf("\n%d concurrent MCP sessions, %d calls each; reads: list_agents; sends: send_sms to distinct recipients\n", sessions, perSession)
	fmt.Printf("%-28s %-5s %10s %10s %10s %7s %12s\n", "set-up", "op", "calls/s", "p50", "p99", "errors", "api convs")
	for _, r := range rows {
		fmt.Printf("%-28s %-5s %10.1f %10s %10s %7s %12d\n", r.target, r.op, r.perSec, r.p50, r.p99, r.errs, r.convs)
	}
	fmt.Println("api convs: conversations in the API when the run began; every send's opt-out check lists them (100 a page).")
}

// apiConversations counts the conversations the sandbox API at port holds.
func apiConversations(b *testing.B, port string) int {
	b.Helper()
	ep, err := keyguard.ParseBaseURL("http://127.0.0.1:" + port)
	if err != nil {
		b.Fatal(err)
	}
	api, err := apiclient.New(apiclient.Options{BaseURL: ep.BaseURL, HTTPClient: keyguard.NewHTTPClient(ep, keyguard.NewSecret("any-key"), nil)})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		page, err := api.ListConversations(ctxFor(b), apiclient.ListParams{Limit: 100, Offset: n})
		if err != nil {
			b.Fatal(err)
		}
		n += len(page.Data)
		if !page.HasMore || len(page.Data) == 0 {
			return n
		}
	}
}
