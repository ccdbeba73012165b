package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/apiclient"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
	"github.com/agentphone-mcp/agentphone-mcp/sandbox"
)

// BenchmarkCampaignPlan measures a create_campaign dry run through MCP (the policy's
// decision for every recipient, exclusions, samples, the schedule) for 200 and 2,000
// recipients: operator-vouched numbers (allowlist), and strangers (the policy asks the
// API's contacts and call history about each, then excludes it as a first contact).
//
//	go test ./server -run '^$' -bench CampaignPlan -benchmem
func BenchmarkCampaignPlan(b *testing.B) {
	for _, n := range []int{200, 2000} {
		for _, kind := range []string{"vouched", "strangers"} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				ctx := context.Background()
				app, numberID := benchApp(b, n)
				c, err := client.NewInProcessClient(app.MCP())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if err := c.Start(ctx); err != nil {
					b.Fatal(err)
				}
				init := mcp.InitializeRequest{}
				init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
				if _, err := c.Initialize(ctx, init); err != nil {
					b.Fatal(err)
				}
				rs := make([]any, n)
				for i := range rs {
					num := fmt.Sprintf("+1650253%04d", i)
					if kind == "strangers" {
						num = fmt.Sprintf("+1415555%04d", i)
					}
					rs[i] = map[string]any{"phone_number": num, "variables": map[string]any{"name": "P"}}
				}
				req := mcp.CallToolRequest{}
				req.Params.Name, req.Params.Arguments = "create_campaign", campaignArgs(numberID, 60, rs)
				b.ReportAllocs()
				start, cpu := time.Now(), cpuTime(b)
				for b.Loop() {
					res, err := c.CallTool(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					m, _ := res.StructuredContent.(map[string]any)
					if st := m["status"]; st != "confirmation_required" && st != "nothing_to_send" {
						b.Fatalf("create_campaign: %v", res.Content)
					}
				}
				b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/plan")
				// CPU time is the steadier figure on a shared machine: wall time there
				// depends on what else runs.
				b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/plan")
			})
		}
	}
}

// benchApp is an App on the sandbox with the campaign limit raised to n, and a number.
func benchApp(b *testing.B, n int) (*App, string) {
	b.Helper()
	clk := clockwork.NewFakeClockAt(testStart)
	sb := sandbox.New(sandbox.Options{Clock: clk, Seed: 1})
	b.Cleanup(sb.Close)
	dir := b.TempDir()
	pf := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pf, []byte(`{"allowlist": ["+1650253"], "limits": {"sms_segments_hour": -1, "new_recipients_day": -1}}`), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel, cfg.Toolsets = true, dir, "error", []string{"all"}
	cfg.PolicyFile, cfg.CampaignMax = pf, n
	app, err := New(context.Background(), cfg, Options{Clock: clk, Sandbox: sb, Stderr: io.Discard,
		Logger: slog.New(slog.DiscardHandler), Version: "bench", Secrets: Secrets{APIKey: keyguard.NewSecret("")}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = app.Close() })
	ag, err := app.api.CreateAgent(context.Background(), apiclient.CreateAgentRequest{Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	num, err := app.api.BuyNumber(context.Background(), apiclient.BuyNumberRequest{AgentID: ag.ID})
	if err != nil {
		b.Fatal(err)
	}
	return app, num.ID
}

// BenchmarkCampaignSend compares one send of a running campaign of 200 and of 2,000
// recipients (the run's decision, the outbound path, the campaign's journal line) with one
// bare send_sms tool call through MCP, both to operator-vouched numbers on the in-process
// sandbox. The difference is the campaign's per-send overhead; a send's cost must not grow
// with the list.
//
//	go test ./server -run '^$' -bench CampaignSend -benchtime 200x
func BenchmarkCampaignSend(b *testing.B) {
	b.Run("send_sms", func(b *testing.B) {
		ctx := context.Background()
		app, numberID := benchApp(b, 1)
		c := benchClient(b, app)
		req := mcp.CallToolRequest{}
		req.Params.Name = "send_sms"
		i := 0
		cpu := cpuTime(b)
		defer func() { b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/send") }()
		for b.Loop() {
			req.Params.Arguments = map[string]any{"number_id": numberID, "to_number": fmt.Sprintf("+1650253%04d", i), "body": "Your parcel arrives today."}
			i++
			res, err := c.CallTool(ctx, req)
			if err != nil || res.IsError {
				b.Fatalf("send_sms: %v %v", err, res)
			}
		}
	})
	for _, size := range []int{200, 2000} {
		b.Run(fmt.Sprintf("campaign/list=%d", size), func(b *testing.B) {
			ctx := context.Background()
			n := max(size, b.N+1)
			app, numberID := benchApp(b, n)
			c := benchClient(b, app)
			rs := make([]any, n)
			for i := range rs {
				rs[i] = map[string]any{"phone_number": fmt.Sprintf("+1650253%04d", i)}
			}
			args := map[string]any{"name": "bench", "number_id": numberID, "recipients": rs, "template": "Your parcel arrives today.", "per_minute": 60}
			req := mcp.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = "create_campaign", args
			res, err := c.CallTool(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			tok, _ := res.StructuredContent.(map[string]any)["confirmation_token"].(string)
			args["confirmation_token"] = tok
			res, err = c.CallTool(ctx, req)
			if err != nil || res.IsError {
				b.Fatalf("create_campaign: %v %v", err, res.Content)
			}
			id, _ := res.StructuredContent.(map[string]any)["id"].(string)
			clk := app.clock.(*clockwork.FakeClock)
			if err := app.Campaigns().WaitIdle(ctx, id); err != nil { // the first send goes at once
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu := cpuTime(b)
			for range b.N {
				clk.Advance(time.Second)
				if err := app.Campaigns().WaitIdle(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/send")
			cmp, err := app.Campaigns().Get(id)
			if err != nil || cmp.Counts(clk.Now()).Sent != b.N+1 {
				b.Fatalf("sent %+v (%v), want %d", cmp.Counts(clk.Now()), err, b.N+1)
			}
		})
	}
}

func benchClient(b *testing.B, app *App) *client.Client {
	b.Helper()
	ctx := context.Background()
	c, err := client.NewInProcessClient(app.MCP())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		b.Fatal(err)
	}
	return c
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
