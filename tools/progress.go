package tools

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Progress timing for a call whose request carries a progress token: the first notification
// within progressFirst of the call starting, then one on every state change (ringing,
// answered, each transcript turn, ended) and at least one every progressEvery. None is sent
// once the handler has returned, so each one leaves before the result.
const (
	progressFirst   = time.Second
	progressEvery   = 10 * time.Second
	maxProgressText = 300
)

// ProgressFunc sends one notifications/progress message for the request in ctx. Tests may set
// Deps.SendProgress; otherwise the server's per-request route (WithProgress, in order with the
// result on the request's own stream) is used, and without one mcp-go's notification channel
// (see sendProgress).
type ProgressFunc func(ctx context.Context, token mcp.ProgressToken, progress float64, message string) error

// sendProgress is the one place a progress notification leaves the tools.
func (d *Deps) sendProgress(ctx context.Context, token mcp.ProgressToken, progress float64, message string) {
	var err error
	switch r, _ := ctx.Value(progressKey{}).(*progressReporter); {
	case d.SendProgress != nil:
		err = d.SendProgress(ctx, token, progress, message)
	case r != nil && r.send != nil:
		// The server routed this request's notifications (progress_route.go): written in
		// order with the result, on the request's own stream.
		err = SendProgress(ctx, progress, 0, message)
	case server.ServerFromContext(ctx) != nil:
		srv := server.ServerFromContext(ctx)
		err = srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
			"progressToken": token, "progress": progress, "message": message,
		})
	}
	if err != nil {
		d.logger().Debug("progress notification not sent", "err", err)
	}
}

// progress reports what a tool call is doing while it runs. A nil *progress (the request
// asked for no progress) accepts every call and sends nothing.
type progress struct {
	d     *Deps
	ctx   context.Context
	token mcp.ProgressToken
	tool  string
	start time.Time

	mu      sync.Mutex
	n       int
	last    time.Time
	status  string // the current state, repeated by the heartbeat
	stopped bool
	quit    chan struct{}
	done    chan struct{}
}

// startProgress begins reporting for c when its request carries a progress token; the
// heartbeat covers calls that never say anything themselves.
func (d *Deps) startProgress(ctx context.Context, c *call) *progress {
	if c.req.Params.Meta == nil || c.req.Params.Meta.ProgressToken == nil {
		return nil
	}
	p := &progress{d: d, ctx: ctx, token: c.req.Params.Meta.ProgressToken, tool: c.tool, start: d.Clock.Now(),
		quit: make(chan struct{}), done: make(chan struct{})}
	go p.heartbeat()
	return p
}

// state reports a state change now; the heartbeat repeats it until the next one.
func (p *progress) state(msg string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = msg
	p.sendLocked(msg)
}

// event reports something that happened (a transcript turn) without changing the state.
func (p *progress) event(msg string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sendLocked(msg)
}

func (p *progress) sendLocked(msg string) {
	if p.stopped {
		return
	}
	p.n++
	p.last = p.d.Clock.Now()
	p.d.sendProgress(p.ctx, p.token, float64(p.n), truncate(msg, maxProgressText))
}

// heartbeat sends the current state when nothing was sent for a while: first after
// progressFirst, then every progressEvery.
func (p *progress) heartbeat() {
	defer close(p.done)
	next := progressFirst
	for {
		t := p.d.Clock.NewTimer(next)
		select {
		case <-p.quit:
			t.Stop()
			return
		case <-t.Chan():
		}
		p.mu.Lock()
		now := p.d.Clock.Now()
		quiet := now.Sub(p.last)
		if p.n == 0 || quiet >= progressEvery {
			status := p.status
			if status == "" {
				status = p.tool + ": working"
			}
			p.sendLocked(fmt.Sprintf("%s (%d s)", status, int(now.Sub(p.start).Round(time.Second).Seconds())))
			next = progressEvery
		} else {
			next = progressEvery - quiet
		}
		stopped := p.stopped
		p.mu.Unlock()
		if stopped {
			return
		}
	}
}

// stop ends the reporting; nothing is sent after it returns.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	close(p.quit)
	<-p.done
}
