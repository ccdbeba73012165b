package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rssKB is the resident set size of process pid (Linux /proc), in KiB.
func rssKB(tb testing.TB, pid int) int {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	tb.Fatal("no VmRSS in /proc status")
	return 0
}

// BenchmarkAbandonedSessionsRSS measures the server's memory over sessions that clients open
// and abandon (no DELETE): RSS at start, after 3,000 sessions (each initialized, listing the
// tools, a third opening and dropping a GET stream), and after the idle expiry has reclaimed
// them (AGENTPHONE_HTTP_SESSION_IDLE=2s here; 30 min by default). Run:
//
//	go test ./e2e -run '^$' -bench AbandonedSessionsRSS -benchtime 1x
func BenchmarkAbandonedSessionsRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc")
	}
	const sessions = 3000
	for i := 0; i < b.N; i++ {
		s := startServer(b, "http", "127.0.0.1:0", sandboxEnv(b, "AGENTPHONE_HTTP_SESSION_IDLE=2s", "AGENTPHONE_HTTP_MAX_SESSIONS=100000", "AGENTPHONE_LOG_LEVEL=error"))
		pid := s.cmd.Process.Pid
		start := rssKB(b, pid)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		var wg sync.WaitGroup
		work := make(chan int)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range work {
					abandonSession(b, client, s.base, n%3 == 0)
				}
			}()
		}
		for n := 0; n < sessions; n++ {
			work <- n
		}
		close(work)
		wg.Wait()
		peak := rssKB(b, pid)
		// The idle time plus a sweep (every second at this setting).
		time.Sleep(6 * time.Second)
		after := rssKB(b, pid)
		b.ReportMetric(float64(start)/1024, "MiB-start")
		b.ReportMetric(float64(peak)/1024, "MiB-3000-sessions")
		b.ReportMetric(float64(after)/1024, "MiB-after-idle")
		fmt.Printf("RSS: %.1f MiB at start, %.1f MiB with %d abandoned sessions, %.1f MiB after they idled out\n",
			float64(start)/1024, float64(peak)/1024, sessions, float64(after)/1024)
		if code, _ := s.stop(b, syscall.SIGTERM, 15*time.Second); code != 0 {
			b.Fatalf("exit code %d", code)
		}
	}
}

func abandonSession(b *testing.B, client *http.Client, base string, stream bool) {
	post := func(sid, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := post("", initMsg)
	if resp == nil {
		return
	}
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		b.Errorf("initialize: %d", resp.StatusCode)
		return
	}
	post(sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	post(sid, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if stream {
		req, _ := http.NewRequest(http.MethodGet, base+"/mcp", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close() // the client goes away with the stream open
		}
	}
}
