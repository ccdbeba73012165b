package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ListenAndServe serves sb at http://addr/v1/... until ctx is cancelled, then shuts down
// (open streams and long-polls are cancelled). It returns nil after a clean shutdown.
func ListenAndServe(ctx context.Context, addr string, sb *Sandbox, logger *slog.Logger) error {
	if logger == nil {
		logger = sb.log
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, sb, logger)
}

// Serve is ListenAndServe on an existing listener.
func Serve(ctx context.Context, ln net.Listener, sb *Sandbox, logger *slog.Logger) error {
	if logger == nil {
		logger = sb.log
	}
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           sb,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("sandbox AgentPhone API listening", "url", "http://"+ln.Addr().String()+"/v1")

	select {
	case err := <-errc:
		return fmt.Errorf("sandbox server: %w", err)
	case <-ctx.Done():
	}
	cancelBase() // ends SSE streams and long-polls
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("sandbox shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox server: %w", err)
	}
	return nil
}
