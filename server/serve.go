package server

import (
	"context"
	"fmt"
	"io"
)

// Run serves the configured transport until ctx is cancelled (SIGTERM/SIGINT: a graceful
// shutdown that returns nil) or, on stdio, until stdin closes.
func (a *App) Run(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if err := a.StartCampaigns(); err != nil {
		a.logger.Error("campaigns could not be resumed; they stay as they are", "err", err)
	}
	if a.cfg.WebhookListen != "" {
		stop, err := a.startWebhookReceiver(ctx)
		if err != nil {
			return err
		}
		defer stop()
	}
	switch a.cfg.Transport {
	case "stdio":
		a.logger.Info("serving MCP over stdio", "tools", len(a.tools), "sandbox", a.cfg.Sandbox)
		return a.serveStdio(ctx, stdin, stdout)
	case "http", "sse":
		return a.serveHTTP(ctx)
	default:
		return fmt.Errorf("unknown transport %q", a.cfg.Transport)
	}
}
