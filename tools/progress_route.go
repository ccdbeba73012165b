package tools

import (
	"context"
	"errors"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// NotifyFunc writes one notification that belongs to the current request on that request's
// own stream, and returns once it is written (stdio) or queued ahead of the request's result
// (HTTP, SSE). The server supplies it per transport.
type NotifyFunc func(method string, params map[string]any) error

// ErrRequestDone is returned by SendProgress after the tool call has returned: its result is
// already on its way, and a notification sent now would arrive after it.
var ErrRequestDone = errors.New("progress not sent: the tool call has already returned")

type progressKey struct{}

// progressReporter sends the progress notifications of one tool call, in order, and none
// after the call returns.
type progressReporter struct {
	mu    sync.Mutex
	token mcp.ProgressToken
	send  NotifyFunc
	last  float64
	sent  bool
	done  bool
}

// WithProgress returns ctx carrying the progress reporter of one tool call: token is the
// request's _meta.progressToken (nil when the client asked for none) and send writes on the
// request's own stream. The returned finish function must be called when the handler returns
// and before the result is written; SendProgress sends nothing after it. The server's tool
// middleware calls this for every tool call.
func WithProgress(ctx context.Context, token mcp.ProgressToken, send NotifyFunc) (context.Context, func()) {
	r := &progressReporter{token: token, send: send}
	return context.WithValue(ctx, progressKey{}, r), func() {
		r.mu.Lock()
		r.done = true
		r.mu.Unlock()
	}
}

// SendProgress reports progress of the tool call in ctx to the client: progress so far, the
// total when known (0 means unknown and is omitted), and a short message. It returns after
// the notification is written, so it always reaches the client before the call's result, on
// the request's own stream (stdio: the same line writer as results; Streamable HTTP: the
// POST's response stream; SSE: the session's event queue, ahead of the result).
//
// It is a no-op returning nil when the client sent no progress token. progress must increase
// from one notification to the next (the spec requires it): a value not above the previous
// one is raised to previous+1 (and total dropped if that passes it), so no message is lost.
// After the handler has returned it sends nothing and returns ErrRequestDone.
func SendProgress(ctx context.Context, progress, total float64, message string) error {
	r, _ := ctx.Value(progressKey{}).(*progressReporter)
	if r == nil || r.token == nil || r.send == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return ErrRequestDone
	}
	if r.sent && progress <= r.last {
		progress = r.last + 1
	}
	params := map[string]any{"progressToken": r.token, "progress": progress}
	if total > 0 && total >= progress {
		params["total"] = total
	}
	if message != "" {
		params["message"] = message
	}
	if err := r.send(string(mcp.MethodNotificationProgress), params); err != nil {
		return err
	}
	r.last, r.sent = progress, true
	return nil
}
