package sandbox

import (
	"context"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// background tracks the sandbox's asynchronous work so that tests can wait for it: work that is
// running now, and timers whose due time has passed on the clock but whose goroutine has not
// started yet. Timers that are still in the future do not count.
type background struct {
	clock   clockwork.Clock
	mu      sync.Mutex
	running int
	nextID  uint64
	pending map[uint64]time.Time
	changed chan struct{}
	closed  bool
}

func newBackground(clock clockwork.Clock) *background {
	return &background{clock: clock, pending: make(map[uint64]time.Time), changed: make(chan struct{})}
}

// broadcastLocked wakes every Settle waiter. The caller holds b.mu.
func (b *background) broadcastLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// task is a scheduled piece of work that can be cancelled.
type task struct {
	b     *background
	id    uint64
	timer clockwork.Timer
}

// stop cancels the task if it has not started; it is safe to call more than once and on nil.
func (t *task) stop() {
	if t == nil {
		return
	}
	t.timer.Stop()
	t.b.mu.Lock()
	if _, ok := t.b.pending[t.id]; ok {
		delete(t.b.pending, t.id)
		t.b.broadcastLocked()
	}
	t.b.mu.Unlock()
}

// after runs f on its own goroutine once d has passed on the clock, unless stopped first.
// It returns nil (and runs nothing) after close.
func (b *background) after(d time.Duration, f func()) *task {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = b.clock.Now().Add(d)
	t := &task{b: b, id: id}
	b.mu.Unlock()

	t.timer = b.clock.AfterFunc(d, func() {
		b.mu.Lock()
		if _, ok := b.pending[id]; !ok || b.closed {
			b.mu.Unlock()
			return
		}
		delete(b.pending, id)
		b.running++
		b.mu.Unlock()
		defer b.done()
		f()
	})
	return t
}

// spawn runs f on a new goroutine now, counting it as running work.
func (b *background) spawn(f func()) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.running++
	b.mu.Unlock()
	go func() {
		defer b.done()
		f()
	}()
}

func (b *background) done() {
	b.mu.Lock()
	b.running--
	b.broadcastLocked()
	b.mu.Unlock()
}

// settle blocks until no work is running and no timer is overdue, or ctx ends.
func (b *background) settle(ctx context.Context) error {
	for {
		b.mu.Lock()
		busy := b.running > 0
		if !busy {
			now := b.clock.Now()
			for _, due := range b.pending {
				if !due.After(now) {
					busy = true
					break
				}
			}
		}
		ch := b.changed
		b.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close stops future scheduling and forgets pending timers.
func (b *background) close() {
	b.mu.Lock()
	b.closed = true
	clear(b.pending)
	b.broadcastLocked()
	b.mu.Unlock()
}
