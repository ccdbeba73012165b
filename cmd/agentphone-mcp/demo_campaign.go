package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// cmdDemoCampaign shows a ten-person reminder campaign on the sandbox, on a fast (simulated)
// clock: the plan with its exclusions, one approval, the paced run, a STOP reply and an
// operator opt-out mid-run, and the report. Nothing real happens.
func cmdDemoCampaign(ctx context.Context, e env) error {
	stateDir, err := os.MkdirTemp("", "agentphone-demo-")
	if err != nil {
		return fmt.Errorf("make a scratch state dir: %w", err)
	}
	defer os.RemoveAll(stateDir)
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		return fmt.Errorf("load time zone data: %w", err)
	}
	now := time.Now().In(chicago)
	clk := clockwork.NewFakeClockAt(time.Date(now.Year(), now.Month(), now.Day(), 13, 0, 0, 0, chicago))
	// The operator vouches for the practice's patients (their numbers start +1650253).
	policyFile := filepath.Join(stateDir, "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"allowlist": ["+1650253"]}`), 0o600); err != nil {
		return err
	}
	cfg, err := server.ConfigFromEnv(nil)
	if err != nil {
		return err
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel, cfg.PolicyFile, cfg.Toolsets = true, stateDir, "error", policyFile, []string{"all"}
	app, err := server.New(ctx, cfg, server.Options{Stderr: io.Discard, Version: version, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		return err
	}
	defer app.Close()
	c, err := client.NewInProcessClient(app.MCP())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "agentphone-demo", Version: version}
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	call := func(name string, args map[string]any) (map[string]any, string, error) {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = name, args
		res, err := c.CallTool(ctx, req)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		data := map[string]any{}
		if raw, err := json.Marshal(res.StructuredContent); err == nil {
			_ = json.Unmarshal(raw, &data)
		}
		if res.IsError {
			return data, "", fmt.Errorf("%s returned an error: %s", name, resultText(res))
		}
		return data, resultText(res), nil
	}

	p := demoPrinter{w: e.stdout}
	p.title("agentphone-mcp demo campaign: ten appointment reminders, one approval, on a fast simulated clock")
	p.note("Sandbox mode: no real text is sent, no money is spent.")
	// A new agent's prompt is shown for approval first (it decides what the voice says).
	agentArgs := map[string]any{"name": "Front Desk", "voice_mode": "hosted", "system_prompt": "You are the front desk of Bright Smile Dental."}
	data, _, err := call("create_agent", agentArgs)
	if err != nil {
		return err
	}
	if tok, ok := data["confirmation_token"]; ok {
		agentArgs["confirmation_token"] = tok
		if data, _, err = call("create_agent", agentArgs); err != nil {
			return err
		}
	}
	agentID, _ := data["id"].(string)
	args := map[string]any{"agent_id": agentID, "area_code": "415"}
	data, _, err = call("buy_number", args)
	if err != nil {
		return err
	}
	args["confirmation_token"] = data["confirmation_token"]
	if data, _, err = call("buy_number", args); err != nil {
		return err
	}
	numberPhone, _ := data["phone_number"].(string)
	p.step("setup", "agent "+agentID+" with number "+numberPhone)

	names := []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis"}
	var rs []any
	for i, n := range names {
		rs = append(rs, map[string]any{"phone_number": fmt.Sprintf("+1650253%04d", 100+i), "variables": map[string]any{"name": n, "time": fmt.Sprintf("%d:00", 9+i%8)}})
	}
	rs = append(rs,
		map[string]any{"phone_number": "+16502530101", "variables": map[string]any{"name": "Alan", "time": "10:00"}},  // listed twice
		map[string]any{"phone_number": "(415) 555-0142", "variables": map[string]any{"name": "Sam", "time": "11:00"}}, // nobody vouched
		map[string]any{"phone_number": "911", "variables": map[string]any{"name": "?", "time": "?"}},                  // never
	)
	cargs := map[string]any{"name": "Cleaning reminders", "agent_id": agentID, "recipients": rs, "per_minute": 6,
		"template": "Hi {{name}}, Bright Smile Dental here: your cleaning is tomorrow at {{time}}. Reply STOP to opt out."}
	data, _, err = call("create_campaign", cargs)
	if err != nil {
		return err
	}
	plan, _ := data["plan"].(map[string]any)
	p.step("create_campaign (dry run: nothing is sent)", fmt.Sprintf("reach %v of %d, cost $%v, finish by %v", plan["reach"], len(rs),
		plan["cost"].(map[string]any)["usd"], plan["finish_by"]))
	var lines []string
	for _, x := range plan["excluded"].([]any) {
		m := x.(map[string]any)
		lines = append(lines, fmt.Sprintf("excluded %-15v [%v] %v", m["phone_number"], m["rule"], m["reason"]))
	}
	for _, x := range plan["samples"].([]any) {
		m := x.(map[string]any)
		lines = append(lines, fmt.Sprintf("sample to %v (%v segment, %v): %v", m["to"], m["segments"], m["encoding"], m["body"]))
	}
	p.show("the plan a person approves:", strings.Join(lines, "\n"))
	p.note("(A person approves here. In this demo we approve by calling again with the token.)")
	cargs["confirmation_token"] = data["confirmation_token"]
	data, text, err := call("create_campaign", cargs)
	if err != nil {
		return err
	}
	id, _ := data["id"].(string)
	p.step("create_campaign (approved)", firstLine(text))

	runs := app.Campaigns()
	for i := 0; ; i++ {
		if err := runs.WaitIdle(ctx, id); err != nil {
			return err
		}
		if err := app.Sandbox().Settle(ctx); err != nil {
			return err
		}
		cmp, err := runs.Get(id)
		if err != nil {
			return err
		}
		n := cmp.Counts(clk.Now())
		p.note(fmt.Sprintf("%s  sent %2d, queued %2d, skipped %d, replies %d", clk.Now().In(chicago).Format("15:04:05"), n.Sent, n.Queued, n.Skipped, n.Replies))
		if cmp.Status != "running" || i > 60 {
			break
		}
		switch n.Sent {
		case 3:
			if n.Replies == 0 && cmp.Recipients[1].State == "sent" {
				if _, err := app.Sandbox().InjectInboundSMS(cmp.Recipients[1].E164, numberPhone, "STOP"); err != nil {
					return err
				}
				p.note("          Alan replies STOP: the run reads it within a minute and he is opted out everywhere.")
			}
		case 5:
			if _, err := app.Policy().OptOuts().Add(ctx, cmp.Recipients[8].E164, "", "asked the front desk by phone"); err == nil {
				p.note("          the operator opts Margaret out (she called the front desk): the run will skip her.")
			}
		}
		clk.Advance(10 * time.Second)
	}
	_, text, err = call("get_campaign", map[string]any{"campaign_id": id})
	if err != nil {
		return err
	}
	p.show("get_campaign: the report", strings.TrimSpace(text))
	p.title("Done: one approval, ten people, paced, opt-outs honoured mid-run; every send went through the send ledger.")
	return nil
}
