package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// demoRecipient is the simulated person the demo texts and calls.
const demoRecipient = "(415) 555-0142"

// cmdDemo starts the server on the sandbox and drives it through mcp-go's client over the
// stdio protocol (in one process, over pipes), printing each step as a person would want to
// see it. Nothing real happens.
func cmdDemo(ctx context.Context, e env, args []string) error {
	if len(args) >= 1 && args[0] == "campaign" {
		switch {
		case len(args) == 1:
			return cmdDemoCampaign(ctx, e, false)
		case len(args) == 2 && args[1] == "--call":
			return cmdDemoCampaign(ctx, e, true)
		}
	}
	if len(args) > 0 {
		return usageError{"usage: agentphone-mcp demo [campaign [--call]]"}
	}
	stateDir, err := os.MkdirTemp("", "agentphone-demo-")
	if err != nil {
		return fmt.Errorf("make a scratch state dir: %w", err)
	}
	defer os.RemoveAll(stateDir)

	// Pin the simulated clock to 1 pm Central today, so the quiet-hours rule lets the demo
	// text and call whenever it runs.
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		return fmt.Errorf("load time zone data: %w", err)
	}
	now := time.Now().In(chicago)
	start := time.Date(now.Year(), now.Month(), now.Day(), 13, 0, 0, 0, chicago)

	cfg, err := server.ConfigFromEnv(nil)
	if err != nil {
		return err
	}
	cfg.Sandbox, cfg.StateDir, cfg.SandboxNow, cfg.LogLevel = true, stateDir, start.Format(time.RFC3339), "error"
	app, err := server.New(ctx, cfg, server.Options{Stderr: io.Discard, Version: version,
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		return err
	}
	defer app.Close()

	// Wire a real MCP client to the server's stdio transport through two pipes.
	clientIn, serverOut := io.Pipe()
	serverIn, clientOut := io.Pipe()
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	go func() {
		_ = app.Run(srvCtx, serverIn, serverOut) // the stdio transport, as the binary serves it
	}()
	c := client.NewClient(transport.NewIO(clientIn, clientOut, io.NopCloser(strings.NewReader(""))))
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("start the MCP client: %w", err)
	}
	defer c.Close()

	p := demoPrinter{w: e.stdout}
	p.title("agentphone-mcp demo: a real MCP client driving the server on the simulated AgentPhone")
	p.note("Sandbox mode: no real call is placed, no text is sent, no money is spent.")

	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "agentphone-demo", Version: version}
	ir, err := c.Initialize(ctx, init)
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	tl, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	p.step("Connect", fmt.Sprintf("server %s %s, protocol %s, %d tools", ir.ServerInfo.Name, ir.ServerInfo.Version, ir.ProtocolVersion, len(tl.Tools)))

	call := func(name string, args map[string]any) (map[string]any, string, error) {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = name, args
		res, err := c.CallTool(ctx, req)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		text := resultText(res)
		data := map[string]any{}
		if raw, err := json.Marshal(res.StructuredContent); err == nil {
			_ = json.Unmarshal(raw, &data)
		}
		if res.IsError {
			return data, text, fmt.Errorf("%s returned an error: %s", name, text)
		}
		return data, text, nil
	}
	confirmAndCall := func(name string, args map[string]any) (map[string]any, string, error) {
		data, text, err := call(name, args)
		if err != nil {
			return nil, "", err
		}
		if data["status"] != "confirmation_required" {
			return data, text, nil
		}
		p.show("the server asks for confirmation first; nothing has happened yet:", text)
		p.note("(A person approves here. In this demo we approve by calling again with the token.)")
		args["confirmation_token"] = data["confirmation_token"]
		return call(name, args)
	}

	// The default list is small; the agents and numbers toolsets come on request.
	for _, ts := range []string{"agents", "numbers"} {
		_, text, err := call("enable_toolset", map[string]any{"toolset": ts})
		if err != nil {
			return err
		}
		p.step("enable_toolset "+ts, firstLine(text))
	}

	data, text, err := confirmAndCall("create_agent", map[string]any{
		"name": "Front Desk", "voice_mode": "hosted",
		"system_prompt": "You are the friendly front desk of Bright Smile Dental. Keep calls short.",
	})
	if err != nil {
		return err
	}
	agentID, _ := data["id"].(string)
	p.step("create_agent", firstLine(text))

	_, text, err = confirmAndCall("buy_number", map[string]any{"area_code": "415", "agent_id": agentID})
	if err != nil {
		return err
	}
	p.step("buy_number", firstLine(text))

	_, text, err = confirmAndCall("send_sms", map[string]any{
		"agent_id": agentID, "to_number": demoRecipient,
		"body": "Hi Sam, this is Bright Smile Dental: your cleaning is Tuesday at 3 pm. Reply C to confirm.",
	})
	if err != nil {
		return err
	}
	p.step("send_sms", firstLine(text))

	p.note("Placing a hosted AI call and waiting for it to end (the simulated call takes a few seconds)...")
	data, text, err = confirmAndCall("make_call", map[string]any{
		"agent_id": agentID, "to_number": demoRecipient, "wait": true,
		"topic": "Confirm Sam's dental cleaning on Tuesday at 3 pm, or offer Wednesday at 10 am.",
	})
	if err != nil {
		return err
	}
	callID, _ := data["id"].(string)
	p.step("make_call", firstLine(text))

	_, text, err = call("get_transcript", map[string]any{"call_id": callID})
	if err != nil {
		return err
	}
	p.show("get_transcript", strings.TrimSpace(text))

	_, text, err = call("send_sms", map[string]any{"agent_id": agentID, "to_number": "911", "body": "test"})
	if err == nil {
		return errors.New("the policy let a text to 911 through")
	}
	p.show("and what the policy refuses: send_sms to 911", firstLine(text))
	p.title("Done: every step above went through the MCP protocol and the policy layer, on the sandbox.")
	return nil
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok && tc.Text != server.SandboxNotice {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// demoPrinter prints the demo's steps readably.
type demoPrinter struct {
	w io.Writer
	n int
}

func (p *demoPrinter) title(s string) {
	fmt.Fprintf(p.w, "\n%s\n%s\n", s, strings.Repeat("─", min(len(s), 78)))
}
func (p *demoPrinter) note(s string) { fmt.Fprintf(p.w, "   %s\n", s) }

func (p *demoPrinter) step(tool, result string) {
	p.n++
	fmt.Fprintf(p.w, "\n%d. %s\n   → %s\n", p.n, tool, result)
}

func (p *demoPrinter) show(label, body string) {
	fmt.Fprintf(p.w, "\n   %s\n", label)
	for _, line := range strings.Split(body, "\n") {
		fmt.Fprintf(p.w, "   │ %s\n", line)
	}
}
