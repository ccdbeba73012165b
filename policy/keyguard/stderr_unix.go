//go:build unix

package keyguard

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// GuardStderr starts a StderrGuard: file descriptor 2 becomes a pipe read by a goroutine that
// scrubs each line with s and writes it to the real stderr (a duplicate of the original fd 2).
func GuardStderr(s *Scrubber) (*StderrGuard, error) {
	realFD, err := unix.Dup(2)
	if err != nil {
		return nil, fmt.Errorf("stderr guard: duplicate stderr: %w", err)
	}
	unix.CloseOnExec(realFD)
	real := os.NewFile(uintptr(realFD), "stderr")
	r, w, err := os.Pipe()
	if err != nil {
		_ = real.Close()
		return nil, fmt.Errorf("stderr guard: %w", err)
	}
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		_ = real.Close()
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("stderr guard: redirect stderr: %w", err)
	}
	_ = w.Close() // fd 2 is now the pipe's only write end
	g := &StderrGuard{out: real, in: os.Stderr}
	g.scrubber.Store(s)
	lines := &lineScrubber{g: g}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_, _ = lines.Write(buf[:n])
			}
			if err != nil {
				lines.flush()
				_ = r.Close()
				return
			}
		}
	}()
	g.closeFn = func() {
		// Point fd 2 back at the real stderr: that closes the pipe's last write end, the
		// forwarder reads to the end and flushes.
		err := unix.Dup2(realFD, 2)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			err = errors.Join(err, errors.New("stderr guard: the forwarder did not finish"))
		}
		if err != nil {
			_, _ = real.Write([]byte("agentphone-mcp: " + s.Scrub(err.Error()) + "\n"))
		}
	}
	return g, nil
}
