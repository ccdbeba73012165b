package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// httpHeartbeat is the ping interval on Streamable HTTP GET streams; it must stay well below
// any idle timeout between client and server.
const httpHeartbeat = 25 * time.Second

// httpTransport is the MCP endpoint of the http (Streamable HTTP, /mcp) or sse (legacy,
// /sse + /message) transport: mcp-go's handler behind the guard (origin, bearer token with
// back-off, body read timeout) and the session middleware (the sessionTable rules: 404 for
// unknown ids, credential binding, DELETE, idle expiry, the session cap, streams cancelled
// at shutdown), with progress on each POST's own stream.
type httpTransport struct {
	app        *App
	kind       string
	sessions   *sessionTable
	streamable *mcpserver.StreamableHTTPServer
	sse        *mcpserver.SSEServer
	handler    http.Handler
	stopSweep  context.CancelFunc
	closing    atomic.Bool
	cancels    *statelessCancels // notifications/cancelled of sessionless requests
}

// HTTPHandler is the MCP endpoint of the http or sse transport with all its hardening, for
// tests and embedding; Run serves it on the configured listener. Its idle-session sweeper
// stops when the App is closed.
func (a *App) HTTPHandler(transport string) http.Handler {
	return a.newHTTPTransport(transport)
}

func (a *App) newHTTPTransport(kind string) *httpTransport {
	t := &httpTransport{app: a, kind: kind, cancels: newStatelessCancels(),
		sessions: newSessionTable(a.clock, a.cfg.SessionIdle, a.cfg.MaxSessions, a.logger.With("component", "http"))}
	if a.callers != nil {
		t.sessions.perCred = callerSessionShare(a.cfg.MaxSessions)
	}
	mux := http.NewServeMux()
	if kind == "sse" {
		t.sse = mcpserver.NewSSEServer(a.mcp,
			mcpserver.WithKeepAlive(true),
			mcpserver.WithSessionIDGenerator(t.openSSESession),
			mcpserver.WithSSEContextFunc(t.sseRequestContext),
		)
		mux.HandleFunc("/sse", t.serveSSE)
		mux.HandleFunc("/message", t.serveSSEMessage)
	} else {
		t.streamable = mcpserver.NewStreamableHTTPServer(a.mcp,
			mcpserver.WithEndpointPath("/mcp"),
			mcpserver.WithStreamableHTTPLogger(a.logger.With("component", "http")),
			mcpserver.WithHeartbeatInterval(min(httpHeartbeat, a.cfg.SessionIdle/2)),
			mcpserver.WithSessionIdManager(t.sessions),
		)
		t.sessions.expire = t.dropSessionState
		t.sessions.reclaim = debug.FreeOSMemory
		mux.HandleFunc("/mcp", t.serveStreamable)
		var ctx context.Context
		ctx, t.stopSweep = context.WithCancel(context.Background())
		go t.sessions.run(ctx)
		a.closers = append(a.closers, func() error { t.stopSweep(); return nil })
	}
	if a.cfg.MetricsListen == "" && a.callers == nil {
		// Behind the bearer token. In caller mode any AgentPhone key is a valid bearer, so
		// the operator's metrics are served only on AGENTPHONE_METRICS_LISTEN.
		mux.Handle("GET "+MetricsPath, a.metricsHandler())
	}
	guarded := &guard{
		next:              mux,
		tokens:            a.httpTokens,
		allowRemote:       a.cfg.AllowRemote,
		localhostLoopback: loopbackOnly(context.Background(), a.lookupHost, "localhost"),
		readTimeout:       a.cfg.ReadTimeout,
		limiter:           newAuthLimiter(a.clock),
		callers:           a.callers,
	}
	// /healthz and /readyz answer without the token: load balancers probe them, and they
	// reveal only up or down.
	outer := http.NewServeMux()
	outer.HandleFunc("GET "+HealthPath, healthHandler)
	outer.HandleFunc("GET "+ReadyPath, a.readyHandler)
	outer.Handle("/", guarded)
	t.handler = outer
	return t
}

func (t *httpTransport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.handler.ServeHTTP(w, r)
}

// serveStreamable applies the session rules in front of mcp-go's Streamable HTTP handler.
func (t *httpTransport) serveStreamable(w http.ResponseWriter, r *http.Request) {
	cred := credentialFrom(r.Context())
	modernHeader := mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
	switch r.Method {
	case http.MethodPost:
		body, _ := io.ReadAll(r.Body) // already in memory: the guard read it
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct {
			Method string          `json:"method"`
			ID     json.RawMessage `json:"id"`
			Params struct {
				Meta *mcp.Meta `json:"_meta"`
			} `json:"params"`
		}
		_ = json.Unmarshal(body, &msg)
		id := rawID(msg.ID)
		if t.closing.Load() {
			writeRPCHTTPError(w, http.StatusServiceUnavailable, id, -32000, "the server is shutting down; try again shortly")
			return
		}
		modern := modernHeader || mcp.IsModernProtocol(msg.Params.Meta.ProtocolVersion())
		var onHeader func(http.Header)
		switch {
		case modern:
			// 2026-07-28: stateless, no session; mcp-go ignores Mcp-Session-Id. Cancellation
			// is scoped to the credential here (statelesscancel.go), not by id alone.
			if t.cancels.cancel(cred, body) {
				acceptNotification(w)
				return
			}
			ctx, done := t.cancels.track(r.Context(), cred, id)
			defer done()
			r = r.WithContext(ctx)
		case msg.Method == string(mcp.MethodInitialize):
			if err := t.sessions.reserve(cred); err != nil {
				t.refuseSession(w, err, id)
				return
			}
			defer t.sessions.unreserve(cred)
			onHeader = func(h http.Header) {
				if sid := h.Get(mcpserver.HeaderKeySessionID); sid != "" {
					t.sessions.claim(sid, cred)
				}
			}
		default:
			end, ok := t.beginSession(w, r, id, nil)
			if !ok {
				return
			}
			defer end()
		}
		ps := newPostStream(w, modern, onHeader)
		t.streamable.ServeHTTP(ps, r.WithContext(withNotifyRoute(r.Context(), ps.notify)))
		ps.finish()
	case http.MethodGet:
		if modernHeader {
			t.streamable.ServeHTTP(w, r) // mcp-go refuses: 2026-07-28 has no GET stream
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		end, ok := t.beginSession(w, r, nil, cancel)
		if !ok {
			return
		}
		defer end()
		t.streamable.ServeHTTP(w, r.WithContext(ctx))
	case http.MethodDelete:
		if modernHeader {
			t.streamable.ServeHTTP(w, r)
			return
		}
		end, ok := t.beginSession(w, r, nil, nil)
		if !ok {
			return
		}
		end()
		t.streamable.ServeHTTP(w, r) // mcp-go calls Terminate and drops the session's state
	default:
		t.streamable.ServeHTTP(w, r)
	}
}

// beginSession admits a request (or, with cancel, a stream) of the session its header names;
// otherwise it answers 400 (no id), 404 (unknown, ended, or another credential's) or 503
// (shutting down) and reports false.
func (t *httpTransport) beginSession(w http.ResponseWriter, r *http.Request, id any, cancel context.CancelFunc) (func(), bool) {
	sid := r.Header.Get(mcpserver.HeaderKeySessionID)
	if sid == "" {
		writeRPCHTTPError(w, http.StatusBadRequest, id, -32000, "Bad Request: the Mcp-Session-Id header is required; send initialize first")
		return nil, false
	}
	end, err := t.sessions.begin(sid, credentialFrom(r.Context()), false, cancel)
	switch {
	case errors.Is(err, errShuttingDown):
		writeRPCHTTPError(w, http.StatusServiceUnavailable, id, -32000, "the server is shutting down; try again shortly")
		return nil, false
	case err != nil:
		writeRPCHTTPError(w, http.StatusNotFound, id, -32001, "Session not found: it ended, expired or was never issued; initialize a new session")
		return nil, false
	}
	return end, true
}

// refuseSession answers an initialize (or /sse) the table cannot admit.
func (t *httpTransport) refuseSession(w http.ResponseWriter, err error, id any) {
	if errors.Is(err, errCallerSessionsFull) {
		w.Header().Set("Retry-After", "60")
		writeRPCHTTPError(w, http.StatusTooManyRequests, id, -32000, fmt.Sprintf(
			"this API key holds its share of the open sessions (%d of AGENTPHONE_HTTP_MAX_SESSIONS=%d): close an unused client, or wait for idle sessions to expire (AGENTPHONE_HTTP_SESSION_IDLE=%s)",
			t.sessions.perCred, t.app.cfg.MaxSessions, t.app.cfg.SessionIdle))
		return
	}
	if errors.Is(err, errSessionsFull) {
		t.app.logger.Warn("HTTP session limit reached; refusing a new session", "limit", t.app.cfg.MaxSessions)
		w.Header().Set("Retry-After", "60")
		writeRPCHTTPError(w, http.StatusServiceUnavailable, id, -32000, fmt.Sprintf(
			"too many open sessions (%d, the limit AGENTPHONE_HTTP_MAX_SESSIONS sets): close an unused client, or wait for idle sessions to expire (AGENTPHONE_HTTP_SESSION_IDLE=%s)",
			t.app.cfg.MaxSessions, t.app.cfg.SessionIdle))
		return
	}
	writeRPCHTTPError(w, http.StatusServiceUnavailable, id, -32000, "the server is shutting down; try again shortly")
}

// dropSessionState removes mcp-go's state of a session the table expired, through mcp-go's
// own DELETE handling (the only public way to run its cleanup).
func (t *httpTransport) dropSessionState(id string) {
	r, err := http.NewRequest(http.MethodDelete, "/mcp", nil)
	if err != nil {
		return
	}
	r.Header.Set(mcpserver.HeaderKeySessionID, id)
	t.streamable.ServeHTTP(discardResponse{header: http.Header{}}, r)
}

// sseOpen carries what an /sse GET needs into mcp-go's session-id generator.
type sseOpen struct {
	cred     string
	cancel   context.CancelFunc
	reserved bool
	id       string
}

type sseOpenKey struct{}

// serveSSE opens an SSE connection: one session, bound to the credential that opened it.
func (t *httpTransport) serveSSE(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		t.sse.ServeHTTP(w, r)
		return
	}
	if t.closing.Load() {
		t.refuseSession(w, errShuttingDown, nil)
		return
	}
	cred := credentialFrom(r.Context())
	if err := t.sessions.reserve(cred); err != nil {
		t.refuseSession(w, err, nil)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	open := &sseOpen{cred: cred, cancel: cancel, reserved: true}
	defer func() {
		cancel()
		if open.reserved {
			t.sessions.unreserve(cred)
		}
		if open.id != "" {
			t.sessions.remove(open.id)
		}
	}()
	t.sse.ServeHTTP(&sseStream{ResponseWriter: w}, r.WithContext(context.WithValue(ctx, sseOpenKey{}, open)))
}

// openSSESession is mcp-go's SSE session-id generator: the id comes from the session table.
func (t *httpTransport) openSSESession(ctx context.Context, _ *http.Request) (string, error) {
	open, _ := ctx.Value(sseOpenKey{}).(*sseOpen)
	if open == nil || !open.reserved {
		return "", errors.New("SSE session opened outside the session table")
	}
	open.id = t.sessions.openSSE(open.cred, open.cancel)
	open.reserved = false
	t.sessions.unreserve(open.cred)
	return open.id, nil
}

// serveSSEMessage admits a POST into an SSE session only with the credential that opened it.
func (t *httpTransport) serveSSEMessage(w http.ResponseWriter, r *http.Request) {
	if t.closing.Load() {
		writeRPCHTTPError(w, http.StatusServiceUnavailable, nil, -32000, "the server is shutting down; try again shortly")
		return
	}
	end, err := t.sessions.begin(r.URL.Query().Get("sessionId"), credentialFrom(r.Context()), true, nil)
	if err != nil {
		writeRPCHTTPError(w, http.StatusNotFound, nil, -32001, "Session not found: open a new SSE connection")
		return
	}
	defer end()
	t.sse.ServeHTTP(w, r)
}

// sseRequestContext gives an SSE message's handler its notification route: the session's
// event queue, which also carries the result, so progress queued first arrives first. The
// queue is bounded and mcp-go's enqueue does not wait, so a full queue is retried (with a
// growing pause, for at most sseQueueWait) rather than the notification dropped.
func (t *httpTransport) sseRequestContext(ctx context.Context, r *http.Request) context.Context {
	sid := r.URL.Query().Get("sessionId")
	return withNotifyRoute(ctx, func(method string, params map[string]any) error {
		event := map[string]any{"jsonrpc": "2.0", "method": method, "params": params}
		deadline := time.Now().Add(sseQueueWait)
		pause := time.Millisecond
		for {
			err := t.sse.SendEventToSession(sid, event)
			if err == nil || !strings.Contains(err.Error(), "queue full") || time.Now().After(deadline) {
				return err
			}
			// ctx here is the POST's, which ends with its 202; the call itself runs on. A
			// closed session ends the wait with another error.
			time.Sleep(pause)
			pause = min(2*pause, 50*time.Millisecond)
		}
	})
}

// sseQueueWait bounds how long a notification waits for room in a full SSE event queue.
const sseQueueWait = 10 * time.Second

// serveHTTP serves the transport until ctx is cancelled, then shuts down gracefully: no new
// requests or sessions, in-flight tool calls get AGENTPHONE_SHUTDOWN_GRACE to finish (their
// results still reach the client), then everything is cancelled, the streams closed, and it
// returns nil within about a second more.
func (a *App) serveHTTP(ctx context.Context) error {
	// In caller mode every request is authenticated by its caller's own verified API key.
	if err := checkListen(ctx, a.lookupHost, a.cfg.Listen, a.cfg.AllowRemote, len(a.httpTokens) > 0 || a.callers != nil); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; pick another address with --listen", a.cfg.Listen, err)
	}
	t := a.newHTTPTransport(a.cfg.Transport)
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           t,
		ReadHeaderTimeout: a.cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(a.logger.With("component", "http").Handler(), slog.LevelWarn),
	}
	path := "/mcp"
	if a.cfg.Transport == "sse" {
		path = "/sse"
	}
	a.logger.Info("serving MCP over HTTP", "transport", a.cfg.Transport, "url", "http://"+ln.Addr().String()+path, "tools", len(a.tools), "sandbox", a.cfg.Sandbox,
		"max_sessions", a.cfg.MaxSessions, "session_idle", a.cfg.SessionIdle.String())
	fmt.Fprintf(os.Stderr, "agentphone-mcp: listening on http://%s%s\n", ln.Addr(), path)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http transport: %w", err)
	case <-ctx.Done():
	}

	a.ops.draining.Store(true) // /readyz fails from now on: the load balancer moves on
	a.logger.Info("http: shutting down", "in_flight", a.calls.count(), "sessions", t.sessions.count(), "grace", a.cfg.ShutdownGrace.String())
	t.closing.Store(true)
	t.sessions.shutdown()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace+5*time.Second)
	defer cancel()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(shutdownCtx) }() // listener closed now; waits for in-flight requests
	if !a.calls.drain(a.cfg.ShutdownGrace) {
		a.logger.Warn("http: some calls ignored cancellation")
	}
	// The answers of the calls that finished or were cancelled still go out: a Streamable
	// HTTP answer on its own POST (Shutdown waits for those once the GET streams, which carry
	// none, are closed); an SSE answer on the session's stream, which stays open a moment so
	// the answer queued last is written.
	wait := func(d time.Duration) bool {
		select {
		case <-shutdown:
			return true
		case <-time.After(d):
			return false
		}
	}
	done := false
	if t.sse != nil {
		done = wait(500 * time.Millisecond)
		t.sessions.cancelStreams()
		t.sse.CloseSessions()
	} else {
		t.sessions.cancelStreams()
	}
	if !done && !wait(time.Second) {
		cancelBase()
		wait(500 * time.Millisecond)
	}
	_ = srv.Close()
	return nil
}

// writeRPCHTTPError answers with an HTTP status and a JSON-RPC error body.
func writeRPCHTTPError(w http.ResponseWriter, status int, id any, code int, message string) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{"code": code, "message": message}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// rawID decodes a JSON-RPC id for an error reply (nil when absent or not an id).
func rawID(raw json.RawMessage) any {
	var id any
	if len(raw) == 0 || json.Unmarshal(raw, &id) != nil {
		return nil
	}
	switch id.(type) {
	case string, float64:
		return id
	}
	return nil
}

// discardResponse is a ResponseWriter that keeps nothing (internal requests to mcp-go).
type discardResponse struct{ header http.Header }

func (d discardResponse) Header() http.Header         { return d.header }
func (d discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d discardResponse) WriteHeader(int)             {}
