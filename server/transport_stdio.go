package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// The stdio transport is mcp-go's StdioServer with three things around it:
//
//   - One line writer for everything that goes to stdout (results, mcp-go's own
//     notifications and requests, and progress, which is written synchronously by the
//     handler itself so it always precedes its result: mcp-go would write it from another
//     goroutine, and results overtook it).
//   - A gate on that writer: it closes the moment stdin reaches EOF, before mcp-go sees the
//     EOF and cancels the in-flight calls, so nothing (no cancelled call's result) is written
//     after the client closed its end. A write error (EPIPE) closes it too.
//   - Graceful shutdown on SIGTERM/SIGINT: input stops being read, in-flight calls get
//     AGENTPHONE_SHUTDOWN_GRACE to finish and write their results, then are cancelled, the
//     gate closes and Run returns nil (exit 0) within about a second more.

// errOutputClosed is returned for a notification written after the stdio output closed.
var errOutputClosed = errors.New("stdout is closed: the client closed stdin or the server is shutting down")

// lineWriter serialises whole JSON-RPC messages onto stdout and drops everything once closed.
type lineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
	logger *slog.Logger
}

// Write writes one message (mcp-go writes each message with a single Write). After close it
// drops the message silently: mcp-go would only log a write error nobody can act on.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.logger.Debug("stdout closed; message dropped", "bytes", len(p))
		return len(p), nil
	}
	out, _ := rewriteRPCFrame(p)
	if _, err := l.w.Write(out); err != nil {
		l.closed = true
		return 0, fmt.Errorf("write stdout: %w", err)
	}
	return len(p), nil
}

// close gates the writer: nothing more reaches stdout.
func (l *lineWriter) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// notify writes a notification synchronously: when it returns, the line is on stdout, ahead
// of whatever the handler writes next (its result).
func (l *lineWriter) notify(method string, params map[string]any) error {
	line, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errOutputClosed
	}
	if _, err := l.w.Write(append(line, '\n')); err != nil {
		l.closed = true
		return fmt.Errorf("write stdout: %w", err)
	}
	return nil
}

// stdinPump copies stdin into a pipe that mcp-go reads, so the server decides when input
// ends: at EOF it closes the output gate first, then lets mcp-go see the EOF.
type stdinPump struct {
	r       *io.PipeReader
	w       *io.PipeWriter
	eof     chan struct{}
	stopped atomic.Bool
}

func newStdinPump(src io.Reader, out *lineWriter) *stdinPump {
	r, w := io.Pipe()
	p := &stdinPump{r: r, w: w, eof: make(chan struct{})}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !p.stopped.Load() {
				if _, werr := p.w.Write(buf[:n]); werr != nil {
					break // mcp-go stopped reading
				}
			}
			if err != nil {
				break
			}
		}
		out.close()
		close(p.eof)
		_ = p.w.Close()
	}()
	return p
}

// stop drops any further input (shutdown: no new requests are taken).
func (p *stdinPump) stop() { p.stopped.Store(true) }

// serveStdio runs the stdio transport until stdin closes (EOF) or ctx is cancelled.
func (a *App) serveStdio(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	out := &lineWriter{w: stdout, logger: a.logger}
	in := newStdinPump(stdin, out)
	defer func() { _ = in.r.Close() }()

	// Requests run under a context of their own: SIGTERM must not cancel them at once.
	listenCtx, cancelListen := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelListen()
	srv := mcpserver.NewStdioServer(a.mcp)
	srv.SetErrorLogger(slog.NewLogLogger(a.logger.With("component", "stdio").Handler(), slog.LevelWarn))
	srv.SetContextFunc(func(c context.Context) context.Context { return withNotifyRoute(c, out.notify) })

	done := make(chan error, 1)
	go func() { done <- srv.Listen(listenCtx, in.r, out) }()

	finish := func(reason string) error {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
				return fmt.Errorf("stdio transport: %w", err)
			}
		case <-time.After(time.Second + a.cfg.ShutdownGrace):
			a.logger.Warn("stdio: in-flight calls did not return in time; exiting anyway", "reason", reason, "calls", a.calls.count())
		}
		return nil
	}
	select {
	case err := <-done:
		out.close()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("stdio transport: %w", err)
		}
		return nil
	case <-in.eof:
		// The client closed stdin: the gate is closed, mcp-go cancels what is still running.
		a.logger.Info("stdio: stdin closed; shutting down", "in_flight", a.calls.count())
		return finish("stdin closed")
	case <-ctx.Done():
		in.stop()
		a.logger.Info("stdio: shutting down", "in_flight", a.calls.count(), "grace", a.cfg.ShutdownGrace.String())
		if !a.calls.drain(a.cfg.ShutdownGrace) {
			a.logger.Warn("stdio: some calls ignored cancellation")
		}
		// stdin is still open: the answers of the calls that finished or were cancelled go
		// out (mcp-go writes them once Listen winds down), then the output closes.
		cancelListen()
		err := finish("signal")
		out.close()
		return err
	}
}
