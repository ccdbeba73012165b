package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// listFlag is a comma-separated list flag that replaces the env value when given.
type listFlag struct{ dst *[]string }

func (l listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l listFlag) Set(v string) error {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	*l.dst = out
	return nil
}

// serveFlags binds the serve flags onto cfg, whose fields already hold the environment's
// values: a flag given on the command line overrides its variable. No flag takes a secret:
// keys come from the environment or a file, never from argv.
func serveFlags(name string, cfg *server.Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Transport, "transport", cfg.Transport, "stdio, http (Streamable HTTP at /mcp) or sse (legacy SSE) [AGENTPHONE_TRANSPORT]")
	fs.BoolVar(&cfg.Sandbox, "sandbox", cfg.Sandbox, "serve against the built-in simulated AgentPhone: nothing real happens [AGENTPHONE_SANDBOX]")
	fs.BoolVar(&cfg.SandboxDeliverExternal, "sandbox-deliver-external", cfg.SandboxDeliverExternal,
		"let the sandbox POST webhook events to hosts other than this machine [AGENTPHONE_SANDBOX_DELIVER_EXTERNAL]")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP listen address for http and sse [AGENTPHONE_HTTP_LISTEN]")
	fs.StringVar(&cfg.BaseURL, "base-url", cfg.BaseURL, "AgentPhone API base URL [AGENTPHONE_BASE_URL]")
	fs.StringVar(&cfg.DefaultRegion, "default-region", cfg.DefaultRegion, "region for numbers without a country code [AGENTPHONE_DEFAULT_REGION]")
	fs.StringVar(&cfg.StateDir, "state-dir", cfg.StateDir, "where policy state and the audit log live [AGENTPHONE_STATE_DIR]")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error [AGENTPHONE_LOG_LEVEL]")
	fs.Var(listFlag{&cfg.Toolsets}, "toolsets", "comma-separated toolsets, or all [AGENTPHONE_TOOLSETS]")
	fs.Var(listFlag{&cfg.Tools}, "tools", "comma-separated extra tools to enable [AGENTPHONE_TOOLS]")
	fs.Var(listFlag{&cfg.ExcludeTools}, "exclude-tools", "comma-separated tools to disable [AGENTPHONE_EXCLUDE_TOOLS]")
	fs.BoolVar(&cfg.ReadOnly, "read-only", cfg.ReadOnly, "offer read tools only [AGENTPHONE_READ_ONLY]")
	fs.StringVar(&cfg.ConfirmMode, "confirm-mode", cfg.ConfirmMode, "auto, strict or off [AGENTPHONE_CONFIRM_MODE]")
	fs.StringVar(&cfg.QuietHours, "quiet-hours", cfg.QuietHours, "local window for calls and texts, or off [AGENTPHONE_QUIET_HOURS]")
	fs.StringVar(&cfg.PolicyFile, "policy-file", cfg.PolicyFile, "operator policy file [AGENTPHONE_POLICY_FILE]")
	fs.DurationVar(&cfg.ToolTimeout, "tool-timeout", cfg.ToolTimeout, "bound of every tool call; longer waits resume on the next call [AGENTPHONE_TOOL_TIMEOUT]")
	fs.DurationVar(&cfg.ElicitTimeout, "elicit-timeout", cfg.ElicitTimeout, "bound of the wait for a confirmation form's answer [AGENTPHONE_ELICIT_TIMEOUT]")
	fs.StringVar(&cfg.WebhookListen, "webhook-listen", cfg.WebhookListen, "serve the signed-webhook receiver at this address [AGENTPHONE_WEBHOOK_LISTEN]")
	return fs
}

// usage is the top-level help.
func usage(w io.Writer) {
	fmt.Fprint(w, `agentphone-mcp: an MCP server that gives an AI agent a phone through AgentPhone.

Usage:
  agentphone-mcp install CLIENT [--sandbox] [--dry-run]   add agentphone to claude-desktop,
                                        claude-code, cursor, vscode or windsurf (--list shows them)
  agentphone-mcp uninstall CLIENT       remove the agentphone entry from that client
  agentphone-mcp doctor [--sandbox] [--json]   check the set-up and say what to fix
  agentphone-mcp [serve] [flags]        run the MCP server (stdio by default)
  agentphone-mcp stdio [flags]          run the MCP server over stdio (what client entries run)
  agentphone-mcp demo                   see it work: drive the server on the sandbox
  agentphone-mcp demo campaign [--call] a ten-person campaign on a fast simulated clock
  agentphone-mcp sandbox --listen ADDR  serve the simulated AgentPhone API alone
  agentphone-mcp tools [--toolsets|--footprint]  the tools (or toolsets, or tools/list bytes) as Markdown
  agentphone-mcp optout list|add|remove NUMBER [--channel all|sms|call]
                                        manage the opt-out list (audited)
  agentphone-mcp audit verify [--sandbox] [PATH]  check the audit log's hash chain and
                                        list sends whose outcome is not recorded
  agentphone-mcp audit repair [--sandbox] [PATH]  move a torn last line (full disk) aside
  agentphone-mcp audit show [--campaign ID]      print the audit lines (of one campaign)
  agentphone-mcp audit export [--out FILE] LOG... verify several replicas' logs and merge
                                        them by time into one JSON Lines file (audit
                                        verify FILE checks it)
  agentphone-mcp contacts import [--yes] FILE.csv import the operator's contacts (they vouch
                                        for their numbers); without --yes only shows the plan
  agentphone-mcp state rebuild [--sandbox]        rebuild state.db from the audit log
                                        (opt-outs, known recipients, caps, used tokens)
  agentphone-mcp webhook-secret [--agent ID]     print the webhook signing secret
  agentphone-mcp version [--json]

Run "agentphone-mcp serve -h" for the server flags. Secrets come from the environment
(AGENTPHONE_API_KEY or AGENTPHONE_API_KEY_FILE), never from flags.
`)
}
