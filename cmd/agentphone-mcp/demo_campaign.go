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

	"github.com/agentphone-mcp/agentphone-mcp/campaign"
	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// demoSession is a server on the sandbox and a fast (simulated) clock, with an MCP client.
type demoSession struct {
	app     *server.App
	clk     *clockwork.FakeClock
	loc     *time.Location
	call    func(name string, args map[string]any) (map[string]any, string, error)
	agentID string
	phone   string
	close   func()
}

// demoPeopleNames are the ten simulated people the campaign demos reach (+1 650 555-0200..0209:
// the sandbox makes each answer by the last digit of their number, sandbox.PeoplePrefix).
var demoPeopleNames = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis"}

func demoPerson(i int) string { return fmt.Sprintf("+1650555%04d", 200+i) }

// cmdDemoCampaign shows a ten-person reminder campaign on the sandbox, on a fast (simulated)
// clock: the plan with its exclusions, one approval, the paced run, a STOP reply the
// simulated recipient sends by itself and an operator opt-out mid-run, and the report. With
// call it shows the call campaign: outcomes, two calls at once, the no_answer retry an hour
// later. Nothing real happens.
func cmdDemoCampaign(ctx context.Context, e env, call bool) error {
	d, err := newDemoSession(ctx, e)
	if err != nil {
		return err
	}
	defer d.close()
	if call {
		return d.callCampaign(ctx, e)
	}
	return d.textCampaign(ctx, e)
}

func newDemoSession(ctx context.Context, e env) (d *demoSession, err error) {
	var closers []func()
	d = &demoSession{close: func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	stateDir, err := os.MkdirTemp("", "agentphone-demo-")
	if err != nil {
		return nil, fmt.Errorf("make a scratch state dir: %w", err)
	}
	closers = append(closers, func() { os.RemoveAll(stateDir) })
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		return nil, fmt.Errorf("load time zone data: %w", err)
	}
	now := time.Now().In(chicago)
	d.loc = chicago
	d.clk = clockwork.NewFakeClockAt(time.Date(now.Year(), now.Month(), now.Day(), 13, 0, 0, 0, chicago))
	// The operator vouches for the practice's patients (their numbers start +1650555).
	policyFile := filepath.Join(stateDir, "policy.json")
	if err := os.WriteFile(policyFile, []byte(`{"allowlist": ["+1650555"]}`), 0o600); err != nil {
		return nil, err
	}
	cfg, err := server.ConfigFromEnv(nil)
	if err != nil {
		return nil, err
	}
	cfg.Sandbox, cfg.StateDir, cfg.LogLevel, cfg.PolicyFile, cfg.Toolsets = true, stateDir, "error", policyFile, []string{"all"}
	app, err := server.New(ctx, cfg, server.Options{Stderr: io.Discard, Version: version, Clock: d.clk,
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		return nil, err
	}
	d.app = app
	closers = append(closers, func() { app.Close() })
	c, err := client.NewInProcessClient(app.MCP())
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { c.Close() })
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "agentphone-demo", Version: version}
	if _, err := c.Initialize(ctx, init); err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
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
	d.call = call
	// A new agent's prompt is shown for approval first (it decides what the voice says).
	agentArgs := map[string]any{"name": "Front Desk", "voice_mode": "hosted", "system_prompt": "You are the front desk of Bright Smile Dental."}
	data, _, err := call("create_agent", agentArgs)
	if err != nil {
		return nil, err
	}
	if tok, ok := data["confirmation_token"]; ok {
		agentArgs["confirmation_token"] = tok
		if data, _, err = call("create_agent", agentArgs); err != nil {
			return nil, err
		}
	}
	agentID, _ := data["id"].(string)
	args := map[string]any{"agent_id": agentID, "area_code": "415"}
	data, _, err = call("buy_number", args)
	if err != nil {
		return nil, err
	}
	args["confirmation_token"] = data["confirmation_token"]
	if data, _, err = call("buy_number", args); err != nil {
		return nil, err
	}
	numberPhone, _ := data["phone_number"].(string)

	d.agentID, d.phone = agentID, numberPhone
	return d, nil
}

// textCampaign is the SMS demo.
func (d *demoSession) textCampaign(ctx context.Context, e env) error {
	call, clk, chicago, agentID, numberPhone := d.call, d.clk, d.loc, d.agentID, d.phone
	p := demoPrinter{w: e.stdout}
	p.title("agentphone-mcp demo campaign: ten appointment reminders, one approval, on a fast simulated clock")
	p.note("Sandbox mode: no real text is sent, no money is spent.")
	p.step("setup", "agent "+agentID+" with number "+numberPhone)
	rs := demoRecipients()
	rs = append(rs,
		map[string]any{"phone_number": "+16505550201", "variables": map[string]any{"name": "Alan", "time": "10:00"}},  // listed twice
		map[string]any{"phone_number": "(415) 555-0142", "variables": map[string]any{"name": "Sam", "time": "11:00"}}, // nobody vouched
		map[string]any{"phone_number": "911", "variables": map[string]any{"name": "?", "time": "?"}},                  // never
	)
	cargs := map[string]any{"name": "Cleaning reminders", "agent_id": agentID, "recipients": rs, "per_minute": 6,
		"template": "Hi {{name}}, Bright Smile Dental here: your cleaning is tomorrow at {{time}}. Reply STOP to opt out."}
	data, _, err := call("create_campaign", cargs)
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

	runs := d.app.Campaigns()
	optedOut, stops := false, 0
	for i := 0; ; i++ {
		if err := runs.WaitIdle(ctx, id); err != nil {
			return err
		}
		if err := d.app.Sandbox().Settle(ctx); err != nil {
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
		if n.Sent == 5 && !optedOut {
			if _, err := d.app.Policy().OptOuts().Add(ctx, cmp.Recipients[8].E164, "", "asked the front desk by phone"); err == nil {
				optedOut = true
				p.note("          the operator opts Margaret out (she called the front desk): the run will skip her.")
			}
		}
		if got := stopReplies(cmp); got > stops {
			stops = got
			p.note("          a STOP came in by itself (the simulated Barbara sent it): she is opted out everywhere.")
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

// stopReplies counts the replies the policy read as an opt-out.
func stopReplies(c *campaign.Campaign) int {
	n := 0
	for _, r := range c.Replies {
		if r.OptOut {
			n++
		}
	}
	return n
}

// demoRecipients are the ten simulated people with their appointment times.
func demoRecipients() []any {
	var rs []any
	for i, n := range demoPeopleNames {
		rs = append(rs, map[string]any{"phone_number": demoPerson(i), "variables": map[string]any{"name": n, "time": fmt.Sprintf("%d:00", 9+i%8)}})
	}
	return rs
}

// callCampaign is the call demo: the same ten people called by the agent's AI on a topic,
// two at a time, each call's outcome and summary recorded, a no_answer retried once an hour
// later.
func (d *demoSession) callCampaign(ctx context.Context, e env) error {
	p := demoPrinter{w: e.stdout}
	p.title("agentphone-mcp demo campaign --call: ten reminder calls, one approval, two at a time, on a fast simulated clock")
	p.note("Sandbox mode: no real call is placed, no money is spent.")
	p.step("setup", "agent "+d.agentID+" with number "+d.phone)
	cargs := map[string]any{"name": "Cleaning reminder calls", "channel": "call", "agent_id": d.agentID, "recipients": demoRecipients(),
		"topic":            "remind {{name}} of the dental cleaning tomorrow at {{time}} and ask them to confirm",
		"initial_greeting": "Hello {{name}}, this is Bright Smile Dental.", "per_minute": 6, "concurrent_calls": 2, "retry_no_answer": true}
	data, _, err := d.call("create_campaign", cargs)
	if err != nil {
		return err
	}
	plan, _ := data["plan"].(map[string]any)
	cost, _ := plan["cost"].(map[string]any)
	p.step("create_campaign (dry run: nobody is called)", fmt.Sprintf("reach %v, at most %v calls at once, cost $%v (%v), finish by %v",
		plan["reach"], plan["concurrent_calls"], cost["usd"], cost["basis"], plan["finish_by"]))
	var lines []string
	for _, x := range plan["samples"].([]any) {
		m := x.(map[string]any)
		lines = append(lines, fmt.Sprintf("call %v\n  greeting: %v\n  topic:    %v", m["to"], m["greeting"], m["topic"]))
	}
	p.show("what a person approves (three samples):", strings.Join(lines, "\n"))
	cargs["confirmation_token"] = data["confirmation_token"]
	data, text, err := d.call("create_campaign", cargs)
	if err != nil {
		return err
	}
	id, _ := data["id"].(string)
	p.step("create_campaign (approved)", firstLine(text))

	runs := d.app.Campaigns()
	last := ""
	for i := 0; i < 400; i++ {
		if err := runs.WaitIdle(ctx, id); err != nil {
			return err
		}
		if err := d.app.Sandbox().Settle(ctx); err != nil {
			return err
		}
		cmp, err := runs.Get(id)
		if err != nil {
			return err
		}
		now := d.clk.Now()
		n := cmp.Counts(now)
		line := fmt.Sprintf("in progress %d, queued %2d, ended %2d %s", n.Calling, n.Queued, n.Sent, outcomesLine(n.Outcomes))
		if line != last {
			p.note(now.In(d.loc).Format("15:04:05") + "  " + line)
			last = line
		}
		if cmp.Status != campaign.Running {
			break
		}
		if next := cmp.NextSendAt(); n.Calling == 0 && next.Sub(now) > time.Minute {
			p.note(fmt.Sprintf("          nothing due until %s: the unanswered calls are retried once, an hour later; the clock jumps there.",
				next.In(d.loc).Format("15:04")))
			d.clk.Advance(next.Sub(now))
			continue
		}
		d.clk.Advance(5 * time.Second)
	}
	data, text, err = d.call("get_campaign", map[string]any{"campaign_id": id})
	if err != nil {
		return err
	}
	report := []string{strings.TrimSpace(text)}
	rows, _ := data["calls"].([]any)
	for k := len(rows) - 1; k >= 0; k-- {
		m, _ := rows[k].(map[string]any)
		line := fmt.Sprintf("  %v  %-9v (%v call(s))", m["phone_number"], m["outcome"], m["attempts"])
		if s, ok := m["summary_untrusted"].(string); ok {
			line += "  " + s
		}
		report = append(report, line)
	}
	p.show("get_campaign: the report", strings.Join(report, "\n"))
	p.title("Done: one approval, ten calls two at a time, every outcome recorded, one retry for the unanswered; every call went through the send ledger.")
	return nil
}

// outcomesLine renders counts by outcome in a fixed order.
func outcomesLine(o map[string]int) string {
	var parts []string
	for _, k := range []string{"human", "voicemail", "no_answer", "busy", "failed", "canceled", "unknown"} {
		if o[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, o[k]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
