package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

// coldStart starts the binary, sends initialize and tools/list over stdio, and returns the
// time from process start to the tools/list reply, the process's peak RSS, and the size of
// the reply's result.
func coldStart(tb testing.TB, env []string, args ...string) (time.Duration, int64, int) {
	tb.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintln(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	fmt.Fprintln(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	fmt.Fprintln(stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	var elapsed time.Duration
	size := 0
	for sc.Scan() {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) == nil && msg.ID == 2 {
			elapsed = time.Since(start)
			var res struct {
				Tools json.RawMessage `json:"tools"`
			}
			_ = json.Unmarshal(msg.Result, &res)
			size = len(res.Tools)
			break
		}
	}
	_ = stdin.Close()
	_ = cmd.Wait()
	if elapsed == 0 {
		tb.Fatal("no tools/list reply")
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // Linux reports KiB
	}
	return elapsed, rss, size
}

// BenchmarkColdStartToolsList measures process start to the tools/list reply over stdio, the
// peak RSS of that exchange, and the bytes of tools/list (the tools array, compact JSON), for
// a server with a key (no network is touched before a tool call) and in sandbox mode.
//
//	go test ./e2e -run '^$' -bench ColdStart -benchtime 20x
func BenchmarkColdStartToolsList(b *testing.B) {
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"key-default-toolsets", []string{"AGENTPHONE_API_KEY=sk_live_benchmarkkey0123456789", "AGENTPHONE_STATE_DIR=" + b.TempDir(), "AGENTPHONE_TOOLSETS="}, nil},
		{"key-all-toolsets", []string{"AGENTPHONE_API_KEY=sk_live_benchmarkkey0123456789", "AGENTPHONE_STATE_DIR=" + b.TempDir(), "AGENTPHONE_TOOLSETS=all"}, nil},
		{"sandbox", []string{"AGENTPHONE_API_KEY=", "AGENTPHONE_STATE_DIR=" + b.TempDir(), "AGENTPHONE_TOOLSETS="}, []string{"--sandbox"}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var times []time.Duration
			var peak int64
			size := 0
			for b.Loop() {
				d, rss, n := coldStart(b, tc.env, tc.args...)
				times = append(times, d)
				peak = max(peak, rss)
				size = n
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(size), "tools-list-bytes")
		})
	}
}
