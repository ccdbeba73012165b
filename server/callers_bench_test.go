package server

import (
	"context"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// BenchmarkCallerMode prints what caller-key mode costs
// (go test ./server -run '^$' -bench CallerMode -benchtime 200x):
//   - admit-cached: the guard's check of a key already verified (keyed hash + lookup);
//   - verify+open: a key seen for the first time: one GET /v1/usage to the API (loopback
//     sandbox here) and the tenant built (store view, audit log, policy engine, tools);
//   - tool-call/operator and tool-call/caller: list_agents over Streamable HTTP, the same
//     sandbox behind, p50/p99 per call: the per-request overhead of caller mode.
func BenchmarkCallerMode(b *testing.B) {
	b.Run("admit-cached", func(b *testing.B) {
		env := startCallerApp(b, io.Discard, nil, func(c *Config) { c.LogLevel = "error" })
		if _, err := env.app.callers.admit(env.ctx, callerKeyA); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := env.app.callers.admit(env.ctx, callerKeyA); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify+open", func(b *testing.B) {
		env := startCallerApp(b, io.Discard, nil, func(c *Config) { c.LogLevel = "error" })
		c := env.app.callers
		var lat []time.Duration
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			ref, err := c.admit(env.ctx, callerKeyA)
			if err != nil {
				b.Fatal(err)
			}
			_, release, err := c.acquire(env.ctx, ref)
			if err != nil {
				b.Fatal(err)
			}
			release()
			lat = append(lat, time.Since(start))
			b.StopTimer()
			c.mu.Lock() // forget the verdict and close the tenant: the next round starts cold
			delete(c.verdicts, ref.id)
			if t := c.open[ref.id]; t != nil {
				c.removeLocked(t)
			}
			c.mu.Unlock()
			b.StartTimer()
		}
		reportLatency(b, lat)
	})
	for _, mode := range []string{KeyModeOperator, KeyModeCaller} {
		b.Run("tool-call/"+mode, func(b *testing.B) {
			env := startCallerApp(b, io.Discard, nil, func(c *Config) { c.LogLevel, c.KeyMode = "error", mode })
			tr, err := transport.NewStreamableHTTP(env.mcpURL, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + callerKeyA}))
			if err != nil {
				b.Fatal(err)
			}
			cl := client.NewClient(tr)
			ctx := context.Background()
			if err := cl.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			init := mcp.InitializeRequest{}
			init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
			if _, err := cl.Initialize(ctx, init); err != nil {
				b.Fatal(err)
			}
			req := mcp.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = "list_agents", map[string]any{}
			if _, err := cl.CallTool(ctx, req); err != nil { // warm: verification and tenant
				b.Fatal(err)
			}
			var lat []time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				res, err := cl.CallTool(ctx, req)
				if err != nil || res.IsError {
					b.Fatalf("list_agents: %v %v", err, res)
				}
				lat = append(lat, time.Since(start))
			}
			reportLatency(b, lat)
		})
	}
}

// reportLatency adds p50 and p99 to the benchmark's output.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
