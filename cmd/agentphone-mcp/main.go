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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/agentphone-mcp/agentphone-mcp/buildinfo"
	"github.com/agentphone-mcp/agentphone-mcp/policy/keyguard"
)

// Stamped by the release build (scripts/release) with -ldflags "-X main.version=... -X
// main.commit=... -X main.date=..."; a plain build falls back to debug.ReadBuildInfo.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	// First, before anything can print: hand the secrets to a re-executed image so none stays
	// in /proc/PID/environ, then route everything written to stderr through the scrubber.
	environ, warning := handOffSecrets(os.Environ())
	known := stderrSecrets(environ)
	guard, err := keyguard.GuardStderr(stderrScrubber(known))
	if err != nil {
		fmt.Fprintln(os.Stderr, stderrScrubber(known).Scrub("agentphone-mcp: cannot guard stderr, refusing to start: "+err.Error()))
		os.Exit(1)
	}
	if warning != "" {
		fmt.Fprintln(guard.Writer(), "agentphone-mcp: warning:", warning)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var mu sync.Mutex
	held := map[string]int{}
	rebuild := func() { // under mu
		all := append([]string(nil), known...)
		for s := range held {
			all = append(all, s)
		}
		guard.SetScrubber(stderrScrubber(all))
	}
	code := run(ctx, os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: guard.Writer(), environ: environ,
		addSecrets: func(secrets ...string) {
			mu.Lock()
			defer mu.Unlock()
			known = append(known, secrets...)
			rebuild()
		},
		holdSecret: func(secret string) func() {
			mu.Lock()
			defer mu.Unlock()
			held[secret]++
			rebuild()
			var once sync.Once
			return func() {
				once.Do(func() {
					mu.Lock()
					defer mu.Unlock()
					if held[secret]--; held[secret] <= 0 {
						delete(held, secret)
					}
					rebuild()
				})
			}
		},
	})
	stop()
	guard.Close()
	os.Exit(code)
}

// env is what a subcommand sees of the process: its streams and its environment.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
	// addSecrets tells the stderr guard about secrets learned after start (the key file);
	// nil in tests.
	addSecrets func(secrets ...string)
	// holdSecret tells the stderr guard about a secret learned at run time (a caller's key
	// in caller mode) until release is called; nil in tests.
	holdSecret func(secret string) (release func())
}

// learnSecrets passes secrets to e.addSecrets, if set.
func (e env) learnSecrets(secrets ...string) {
	if e.addSecrets != nil {
		e.addSecrets(secrets...)
	}
}

// run dispatches a subcommand and returns the exit code: 0 success, 1 failure, 2 usage.
func run(ctx context.Context, args []string, e env) int {
	stdout, stderr := e.stdout, e.stderr
	cmd := "serve"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help"):
		cmd, args = "help", nil
	case len(args) > 0 && !isFlag(args[0]):
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, e, args)
	case "stdio":
		// The form client entries use: always the stdio transport, whatever
		// AGENTPHONE_TRANSPORT says in the client's environment.
		err = cmdServe(ctx, e, append([]string{"--transport=stdio"}, args...))
	case "install":
		err = cmdInstall(e, args)
	case "uninstall":
		err = cmdUninstall(e, args)
	case "doctor":
		err = cmdDoctor(ctx, e, args)
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
		err = cmdVersion(e, args)
	case "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "agentphone-mcp: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
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

// cmdVersion prints the build: the stamped release version, or what the Go toolchain recorded.
func cmdVersion(e env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print version, commit, date, Go version and platform as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	info := buildinfo.Read(version, commit, date)
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintln(e.stdout, info.String())
	return nil
}
