package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/agentphone-mcp/agentphone-mcp/tools"
)

// Every tool call passes through requestMiddleware, which gives the handler what the
// transport knows about the request: who is acting (tools.WithPrincipal), where its
// notifications go (tools.WithProgress, on the request's own stream), and a context the
// server cancels at shutdown once the grace period is over (calls).

// notifyRouteKey carries the transport's way to write a notification on the current
// request's own stream (stdio line writer, Streamable HTTP POST stream, SSE session queue).
type notifyRouteKey struct{}

func withNotifyRoute(ctx context.Context, route tools.NotifyFunc) context.Context {
	return context.WithValue(ctx, notifyRouteKey{}, route)
}

// credentialKey carries the fingerprint of the bearer token an HTTP request presented ("" when
// the server needs none).
type credentialKey struct{}

func withCredential(ctx context.Context, fingerprint string) context.Context {
	return context.WithValue(ctx, credentialKey{}, fingerprint)
}

func credentialFrom(ctx context.Context) string {
	c, _ := ctx.Value(credentialKey{}).(string)
	return c
}

// requestMiddleware is the outermost tool middleware (see the file comment).
func (a *App) requestMiddleware() mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, done := a.calls.start(ctx)
			defer done()
			if a.callers != nil {
				// Caller mode: the call runs against the tenant of the request's own verified
				// key, held open until the call ends; without one it is refused.
				t, release, err := a.callers.forRequest(ctx)
				if err != nil {
					return mcp.NewToolResultError(req.Params.Name + ": " + callerErrorText(err) + "; nothing was done."), nil
				}
				defer release()
				ctx = context.WithValue(ctx, tenantKey{}, t)
			}
			ctx = tools.WithPrincipal(ctx, a.principalOf(ctx))
			var token mcp.ProgressToken
			if req.Params.Meta != nil {
				token = req.Params.Meta.ProgressToken
			}
			ctx, finish := tools.WithProgress(ctx, token, notifyRoute(ctx))
			defer finish()
			return next(ctx, req)
		}
	}
}

// notifyRoute is the transport's route for the request in ctx, else mcp-go's own delivery
// (the in-process transport, where there is no stream to order against).
func notifyRoute(ctx context.Context) tools.NotifyFunc {
	if route, ok := ctx.Value(notifyRouteKey{}).(tools.NotifyFunc); ok && route != nil {
		return route
	}
	srv := mcpserver.ServerFromContext(ctx)
	return func(method string, params map[string]any) error {
		if srv == nil {
			return nil
		}
		return srv.SendNotificationToClient(ctx, method, params)
	}
}

// principalOf names who is acting in the request in ctx, for confirmation tokens and the
// audit log: on stdio the process (one user); on Streamable HTTP and SSE the session; for
// stateless 2026-07-28 HTTP requests, which have no session, the bearer credential they
// presented (or the process when the server needs none). Session ids and credentials are
// secrets, so the principal is a keyed hash of them, never the value itself.
func (a *App) principalOf(ctx context.Context) string {
	if a.cfg.KeyMode == KeyModeCaller {
		return a.callerPrincipal(ctx)
	}
	if a.cfg.RedisURL != "" {
		// Replicas on one Redis: a caller is its bearer credential (its sessions are pinned to
		// one replica, its stateless requests are not), named by the key every replica derives
		// from the shared signing key; without a credential, every client is the deployment.
		if cred := credentialFrom(ctx); cred != "" {
			return "client-" + a.keyedHash("credential", cred)
		}
		return a.deps.Principal
	}
	if s := mcpserver.ClientSessionFromContext(ctx); s != nil {
		if id := s.SessionID(); id != "" && id != "stdio" {
			return "session-" + a.keyedHash("session", id)
		}
	}
	if cred := credentialFrom(ctx); cred != "" {
		return "client-" + a.keyedHash("credential", cred)
	}
	return a.deps.Principal
}

func (a *App) keyedHash(kind, value string) string {
	m := hmac.New(sha256.New, a.principalKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// inflightCalls tracks running tool calls so shutdown can let them finish within a grace
// period and then cancel the rest.
type inflightCalls struct {
	mu      sync.Mutex
	next    int
	cancels map[int]context.CancelFunc
	idle    chan struct{} // closed while no call runs; replaced when one starts
}

func newInflightCalls() *inflightCalls {
	idle := make(chan struct{})
	close(idle)
	return &inflightCalls{cancels: map[int]context.CancelFunc{}, idle: idle}
}

// start registers a call and returns its context (cancelled by cancelAll) and its done func.
func (f *inflightCalls) start(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	f.mu.Lock()
	if len(f.cancels) == 0 {
		f.idle = make(chan struct{})
	}
	id := f.next
	f.next++
	f.cancels[id] = cancel
	f.mu.Unlock()
	return ctx, func() {
		cancel()
		f.mu.Lock()
		delete(f.cancels, id)
		if len(f.cancels) == 0 {
			close(f.idle)
		}
		f.mu.Unlock()
	}
}

// count is the number of running calls.
func (f *inflightCalls) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cancels)
}

// drain waits up to grace for the running calls to finish, then cancels the rest and waits
// up to another second for them to return. It reports whether every call ended.
func (f *inflightCalls) drain(grace time.Duration) bool {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-idle:
		return true
	case <-timer.C:
	}
	f.mu.Lock()
	for _, cancel := range f.cancels {
		cancel()
	}
	idle = f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-time.After(time.Second):
		return false
	}
}
