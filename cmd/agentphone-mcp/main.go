// Command agentphone-mcp is an MCP server that gives an AI agent a phone through the
// AgentPhone API: agents, numbers, calls, SMS, conversations, contacts, webhooks and usage,
// behind a policy layer that no prompt can switch off.
//
// It serves stdio (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf), Streamable HTTP
// and legacy SSE. Without an API key it runs against a built-in simulated AgentPhone
// (--sandbox), where nothing real happens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// env is what a subcommand sees of the process: its streams and its environment.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
}

// run dispatches a subcommand and returns the exit code: 0 success, 1 failure, 2 usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}
	cmd := "serve"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		cmd, args = "help", nil
	case len(args) > 0 && !isFlag(args[0]):
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve", "stdio":
		err = cmdServe(ctx, e, args)
	case "demo":
		err = cmdDemo(ctx, e, args)
	case "sandbox":
		err = cmdSandbox(ctx, e, args)
	case "tools":
		err = cmdTools(e, args)
	case "optout":
		err = cmdOptout(ctx, e, args)
	case "contacts":
		err = cmdContacts(ctx, e, args)
	case "audit":
		err = cmdAudit(e, args)
	case "state":
		err = cmdState(ctx, e, args)
	case "webhook-secret":
		err = cmdWebhookSecret(ctx, e, args)
	case "version":
		fmt.Fprintln(stdout, "agentphone-mcp", version)
	case "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "agentphone-mcp: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "agentphone-mcp %s: %v\n", cmd, err)
		return 2
	default:
		fmt.Fprintf(stderr, "agentphone-mcp %s: %v\n", cmd, err)
		return 1
	}
}

// usageError marks a mistake in how the command was called (exit code 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func isFlag(s string) bool { return len(s) > 0 && s[0] == '-' }
