package tools

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/mark3labs/mcp-go/mcp"
)

// Time bounds of one tool call (AGENTPHONE_TOOL_TIMEOUT, AGENTPHONE_ELICIT_TIMEOUT).
//
// Many clients stop a tool call after 60 s (the TypeScript SDK's default request timeout;
// several desktop clients do the same), so every call returns within ToolTimeout: waits that
// need longer return "still in progress" with what is known so far and how to continue.
const (
	// DefaultToolTimeout is the bound of one tool call when Deps.ToolTimeout is zero.
	DefaultToolTimeout = 50 * time.Second
	// DefaultElicitTimeout bounds the wait for the user's answer to a confirmation form when
	// Deps.ElicitTimeout is zero.
	DefaultElicitTimeout = 2 * time.Minute
	// maxWaitMargin is the most a wait keeps back from the tool bound to write its result.
	maxWaitMargin = 2 * time.Second
)

func (d *Deps) toolTimeout() time.Duration {
	if d.ToolTimeout > 0 {
		return d.ToolTimeout
	}
	return DefaultToolTimeout
}

func (d *Deps) elicitTimeout() time.Duration {
	if d.ElicitTimeout > 0 {
		return d.ElicitTimeout
	}
	return DefaultElicitTimeout
}

// budget is the time one tool call may still take. Its context ends when the bound passes,
// which cancels every API request the call has in flight, so a request that never answers
// cannot hold the call past its bound. The bound runs on d.Clock (fake in tests).
//
// Time the client spends with its own user in a confirmation form is not the server's work:
// pause stops the bound while the server waits for that answer (bounded on its own by
// ElicitTimeout).
type budget struct {
	clock  clockwork.Clock
	cancel context.CancelFunc

	mu       sync.Mutex
	deadline time.Time
	pausedAt time.Time // zero unless paused
	timer    clockwork.Timer
	expired  bool
	done     chan struct{} // closed when the watcher goroutine has exited
}

// newBudget derives the call's context: it ends after limit on clk, or with ctx.
func newBudget(ctx context.Context, clk clockwork.Clock, limit time.Duration) (context.Context, *budget) {
	bctx, cancel := context.WithCancel(ctx)
	b := &budget{clock: clk, cancel: cancel, deadline: clk.Now().Add(limit), timer: clk.NewTimer(limit), done: make(chan struct{})}
	go b.watch(bctx)
	return bctx, b
}

func (b *budget) watch(ctx context.Context) {
	defer close(b.done)
	for {
		b.mu.Lock()
		ch := b.timer.Chan()
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-ch:
			b.mu.Lock()
			due := b.pausedAt.IsZero() && !b.clock.Now().Before(b.deadline)
			if due {
				b.expired = true
			}
			b.mu.Unlock()
			if due {
				b.cancel()
				return
			}
		}
	}
}

// remaining is the time left before the bound (the full remainder while paused).
func (b *budget) remaining() time.Duration {
	if b == nil {
		return DefaultToolTimeout
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if !b.pausedAt.IsZero() {
		now = b.pausedAt
	}
	return b.deadline.Sub(now)
}

// ranOut reports whether the bound passed (and cancelled the call's context).
func (b *budget) ranOut() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.expired
}

// pause stops the bound until the returned function is called.
func (b *budget) pause() (resume func()) {
	if b == nil {
		return func() {}
	}
	b.mu.Lock()
	if !b.pausedAt.IsZero() || b.expired {
		b.mu.Unlock()
		return func() {}
	}
	b.pausedAt = b.clock.Now()
	b.timer.Stop()
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.deadline = b.deadline.Add(b.clock.Since(b.pausedAt))
		b.pausedAt = time.Time{}
		b.timer.Reset(max(b.deadline.Sub(b.clock.Now()), 0))
	}
}

// stop releases the timer and the watcher; the call's context ends.
func (b *budget) stop() {
	b.mu.Lock()
	b.timer.Stop()
	b.mu.Unlock()
	b.cancel()
	<-b.done
}

// waitMargin is what a wait keeps back from the bound to fetch the final state and write its
// result: a tenth of the bound, at most maxWaitMargin.
func waitMargin(bound time.Duration) time.Duration {
	return min(bound/10, maxWaitMargin)
}

// waitLimit is how long a wait in this call may last: what the caller asked for, cut to the
// call's remaining bound less the margin.
func (d *Deps) waitLimit(c *call, want time.Duration) time.Duration {
	left := c.budget.remaining() - waitMargin(d.toolTimeout())
	return max(min(want, left), 0)
}

// run executes a handler within the call's time bound, reporting progress when the request
// asked for it. Progress stops before the result is returned, so none follows it.
func (d *Deps) run(ctx context.Context, c *call, h func(context.Context, *call) *mcp.CallToolResult) *mcp.CallToolResult {
	bctx, b := newBudget(ctx, d.Clock, d.toolTimeout())
	defer b.stop()
	c.budget = b
	c.prog = d.startProgress(ctx, c)
	defer c.prog.stop()
	res := h(bctx, c)
	if res != nil && res.IsError && b.ranOut() && ctx.Err() == nil {
		limit := int(d.toolTimeout().Round(time.Second).Seconds())
		res.Content = append(res.Content, mcp.NewTextContent(fmt.Sprintf(
			"The tool time limit (%d s, AGENTPHONE_TOOL_TIMEOUT) passed before AgentPhone answered, so the call stopped waiting.", limit)))
		if m, ok := res.StructuredContent.(map[string]any); ok {
			m["tool_time_limit_seconds"] = limit
		}
	}
	return res
}

// clockTimeout is context.WithTimeout on d.Clock, so fake clocks drive tool timeouts.
func (d *Deps) clockTimeout(ctx context.Context, after time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	timer := d.Clock.NewTimer(after)
	go func() {
		select {
		case <-timer.Chan():
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		timer.Stop()
		cancel()
	}
}
