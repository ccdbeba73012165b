package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
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
	if a.cfg.MetricsListen != "" {
		stop, err := a.startMetricsListener()
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

// startMetricsListener serves /metrics alone on AGENTPHONE_METRICS_LISTEN (no token: bind
// it to an address only the monitoring system reaches).
func (a *App) startMetricsListener() (func(), error) {
	ln, err := net.Listen("tcp", a.cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w; fix AGENTPHONE_METRICS_LISTEN", a.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, a.metricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+MetricsPath)
	return func() { _ = srv.Close() }, nil
}
