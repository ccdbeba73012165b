package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// maxRequestBody bounds one HTTP request to the MCP endpoints.
const maxRequestBody = 1 << 20

// Run serves the configured transport until ctx is cancelled (stdio: until stdin closes).
func (a *App) Run(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
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
		err := mcpserver.NewStdioServer(a.mcp).Listen(ctx, stdin, stdout)
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("stdio transport: %w", err)
		}
		return nil
	case "http", "sse":
		return a.serveHTTP(ctx)
	default:
		return fmt.Errorf("unknown transport %q", a.cfg.Transport)
	}
}

// HTTPHandler is the MCP endpoint of the http or sse transport with its hardening: the
// optional bearer token, the Origin check, and a body size limit. mcp-go's own DNS-rebinding
// protection (a loopback connection must name a loopback Host) stays on. /healthz and
// /readyz answer without the token (load balancers probe them; they reveal only up or
// down); /metrics is behind the token, unless AGENTPHONE_METRICS_LISTEN serves it apart.
func (a *App) HTTPHandler(transport string) http.Handler {
	outer := http.NewServeMux()
	outer.HandleFunc("GET "+HealthPath, healthHandler)
	outer.HandleFunc("GET "+ReadyPath, a.readyHandler)
	mux := http.NewServeMux()
	if a.cfg.MetricsListen == "" {
		mux.Handle("GET "+MetricsPath, a.metricsHandler())
	}
	if transport == "sse" {
		sse := mcpserver.NewSSEServer(a.mcp, mcpserver.WithKeepAlive(true))
		mux.Handle("/sse", sse)
		mux.Handle("/message", sse)
	} else {
		mux.Handle("/mcp", mcpserver.NewStreamableHTTPServer(a.mcp,
			mcpserver.WithEndpointPath("/mcp"),
			mcpserver.WithStreamableHTTPLogger(a.logger.With("component", "http")),
			mcpserver.WithHeartbeatInterval(25*time.Second),
		))
	}
	outer.Handle("/", guard(mux, a.secrets.HTTPToken.Reveal(), a.cfg.AllowRemote))
	return outer
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

func (a *App) serveHTTP(ctx context.Context) error {
	if err := checkListen(a.cfg.Listen, a.cfg.AllowRemote, !a.secrets.HTTPToken.IsZero()); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; pick another address with --listen", a.cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           a.HTTPHandler(a.cfg.Transport),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	path := "/mcp"
	if a.cfg.Transport == "sse" {
		path = "/sse"
	}
	a.logger.Info("serving MCP over HTTP", "transport", a.cfg.Transport, "url", "http://"+ln.Addr().String()+path, "tools", len(a.tools), "sandbox", a.cfg.Sandbox)
	fmt.Fprintf(os.Stderr, "agentphone-mcp: listening on http://%s%s\n", ln.Addr(), path)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http transport: %w", err)
	case <-ctx.Done():
		a.ops.draining.Store(true) // /readyz fails from now on: the load balancer moves on
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
}

// checkListen refuses a non-loopback address unless the operator allowed remote access and
// set a bearer token.
func checkListen(addr string, allowRemote, haveToken bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q is not host:port: %w", addr, err)
	}
	if isLoopbackHost(host) {
		return nil
	}
	if !allowRemote {
		return fmt.Errorf("listen address %q is not a loopback address; the HTTP transports listen on 127.0.0.1 unless AGENTPHONE_HTTP_ALLOW_REMOTE=true and AGENTPHONE_HTTP_TOKEN are set", addr)
	}
	if !haveToken {
		return errors.New("remote HTTP access needs AGENTPHONE_HTTP_TOKEN, the bearer token every client must send")
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guard wraps the MCP endpoints: a browser page on another origin is refused, a configured
// bearer token is required, and request bodies are bounded.
func guard(next http.Handler, token string, allowRemote bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !allowRemote && !loopbackOrigin(origin) {
			http.Error(w, "forbidden origin", http.StatusForbidden)
			return
		}
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="agentphone-mcp"`)
				http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
				return
			}
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return isLoopbackHost(u.Hostname())
}
