package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
)

// BenchmarkTeam starts deploy/run-local.sh (the built binary, Redis, HAProxy, the
// standalone sandbox as the API) and measures, with 50 concurrent MCP sessions, reads
// (list_agents) and sends (send_sms to distinct recipients) per second and their p50/p99,
// against one replica directly and against two behind HAProxy. It prints a table:
//
//	go test -run '^$' -bench Team -benchtime 1x ./e2e/
func BenchmarkTeam(b *testing.B) {
	policy := filepath.Join(b.TempDir(), "policy.json")
	// Caps high enough that every send to a distinct recipient is a real send.
	if err := os.WriteFile(policy, []byte(`{"limits": {"new_recipients_day": 1000000, "sms_segments_hour": 1000000}}`), 0o600); err != nil {
		b.Fatal(err)
	}
	lb, replicas, _ := startTeam(b, "AGENTPHONE_POLICY_FILE="+policy)
	const sessions, perSession = 50, 10
	type row struct {
		target, op     string
		perSec         float64
		p50, p99, errs string
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
	for _, target := range []struct{ name, url string }{{"1 replica", replicas[0]}, {"2 replicas + HAProxy", lb}} {
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
				lat[len(lat)/2].Round(100 * time.Microsecond).String(), lat[len(lat)*99/100].Round(100 * time.Microsecond).String(), fmt.Sprint(failed)})
		}
	}
	fmt.Printf("\n%-22s %-5s %10s %10s %10s %7s\n", "set-up", "op", "calls/s", "p50", "p99", "errors")
	for _, r := range rows {
		fmt.Printf("%-22s %-5s %10.1f %10s %10s %7s\n", r.target, r.op, r.perSec, r.p50, r.p99, r.errs)
	}
}
