package keyguard

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
)

// maxPendingLine bounds how much of an unfinished line the stderr guard holds before it scrubs
// and writes it anyway.
const maxPendingLine = 64 << 10

// StderrGuard passes everything the process writes to standard error through a Scrubber, line
// by line, before it reaches the real stderr. On Unix it takes over file descriptor 2 itself,
// so every writer is covered: this program's own messages, the log and slog packages, libraries
// that print to os.Stderr, and the Go runtime's own messages; on other systems only what is
// written through Writer. Start it with GuardStderr first thing in main, and Close it before
// the process exits to flush the last lines.
//
// A fatal runtime crash ends the process without Close: lines the guard had not forwarded yet
// are lost, never written unscrubbed.
type StderrGuard struct {
	scrubber atomic.Pointer[Scrubber]
	out      io.Writer // the real stderr
	in       io.Writer // what the program writes to: fd 2 (Unix) or the line writer
	closeFn  func()    // stops the takeover and waits for the forwarder
	once     sync.Once
}

// SetScrubber replaces the scrubber, for secrets learned after start (the key file).
func (g *StderrGuard) SetScrubber(s *Scrubber) { g.scrubber.Store(s) }

// Writer is where the program writes its own stderr output.
func (g *StderrGuard) Writer() io.Writer { return g.in }

// Close flushes what is pending and gives the process its real stderr back. It is safe to
// call more than once.
func (g *StderrGuard) Close() {
	g.once.Do(func() {
		if g.closeFn != nil {
			g.closeFn()
		}
	})
}

// lineScrubber buffers writes into lines and writes each scrubbed.
type lineScrubber struct {
	mu      sync.Mutex
	g       *StderrGuard
	pending []byte
}

// Write scrubs and forwards every complete line of p (and an overlong unfinished one).
func (l *lineScrubber) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, p...)
	cut := bytes.LastIndexByte(l.pending, '\n') + 1
	if cut == 0 && len(l.pending) < maxPendingLine {
		return len(p), nil
	}
	if cut == 0 {
		cut = len(l.pending)
	}
	err := l.emit(l.pending[:cut])
	l.pending = append(l.pending[:0], l.pending[cut:]...)
	return len(p), err
}

// flush writes whatever is pending.
func (l *lineScrubber) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		_ = l.emit(l.pending)
		l.pending = l.pending[:0]
	}
}

func (l *lineScrubber) emit(b []byte) error {
	_, err := l.g.out.Write(l.g.scrubber.Load().ScrubBytes(b))
	return err
}
