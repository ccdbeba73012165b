package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/agentphone-mcp/agentphone-mcp/buildinfo"
	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// loadConfig reads the environment, then applies the flags of a serve-like command.
func loadConfig(e env, name string, args []string) (server.Config, []string, error) {
	cfg, err := server.ConfigFromEnv(e.environ)
	if err != nil {
		return cfg, nil, err
	}
	fs := serveFlags(name, &cfg, e.stderr)
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), nil
}

// cmdServe runs the MCP server on the configured transport. SIGPIPE is ignored: a client
// that closed stdout (or a log reader that closed stderr) turns writes into EPIPE errors,
// which the transports handle, instead of killing the process mid-shutdown.
func cmdServe(ctx context.Context, e env, args []string) error {
	signal.Ignore(syscall.SIGPIPE)
	cfg, rest, err := loadConfig(e, "serve", args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q; secrets go in the environment, not on the command line", rest)}
	}
	secrets, err := server.LoadSecrets(e.environ, cfg)
	if err != nil {
		return err
	}
	e.learnSecrets(secrets.APIKey.Reveal(), secrets.WebhookSecret.Reveal(), secrets.HTTPToken.Reveal())
	app, err := server.New(ctx, cfg, server.Options{Secrets: secrets, Stderr: e.stderr, Version: buildinfo.Read(version, commit, date).Version,
		HoldSecret: e.holdSecret})
	if err != nil {
		return err
	}
	defer app.Close()
	return app.Run(ctx, e.stdin, e.stdout)
}
