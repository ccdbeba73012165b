package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Locker is an inter-process lock on one file that waits in the kernel: a waiter is woken
// as soon as the holder releases, instead of polling, so that several processes taking
// turns on it each wait about as long as the others hold it (no waiter starves behind a
// busy neighbour). Lock and Unlock must be called by one goroutine at a time.
//
// A wait that times out or is cancelled leaves its blocked system call behind with the
// open file it waits on; that file is closed (releasing the lock, should the call still
// get it) as soon as the call returns, and the Locker continues on a fresh open of the
// path. At most one such abandoned wait exists per Locker: while it does, Lock polls.
type Locker struct {
	path      string
	f         *os.File
	abandoned chan struct{} // closed when the abandoned wait has returned; nil if none
}

// OpenLocker opens (creating with mode 0600) the lock file at path.
func OpenLocker(path string) (*Locker, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	return &Locker{path: path, f: f}, nil
}

// Path returns the lock file's path.
func (l *Locker) Path() string { return l.path }

// Lock takes a shared (exclusive=false) or exclusive lock, waiting up to timeout (0 means
// one attempt) or until ctx is done; it then fails with an error wrapping ErrTimeout or
// ctx.Err().
func (l *Locker) Lock(ctx context.Context, exclusive bool, timeout time.Duration) error {
	if l.f == nil {
		return fmt.Errorf("lock %s: %w", l.path, os.ErrClosed)
	}
	ok, err := tryLock(l.f, exclusive)
	if err != nil || ok {
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.path, err)
		}
		return nil
	}
	if timeout <= 0 {
		return fmt.Errorf("lock %s: %w", l.path, ErrTimeout)
	}
	if l.abandoned != nil {
		select {
		case <-l.abandoned:
			l.abandoned = nil
		default:
			return Lock(ctx, l.f, exclusive, timeout) // one blocked call is enough: poll
		}
	}
	if !canBlock {
		return Lock(ctx, l.f, exclusive, timeout)
	}
	var (
		mu      sync.Mutex
		gaveUp  bool
		done    = make(chan error, 1)
		waiting = l.f
		ended   = make(chan struct{})
	)
	go func() {
		defer close(ended)
		err := lockBlocking(waiting, exclusive)
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			_ = waiting.Close() // releases the lock if the call got it
			return
		}
		done <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var why error
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.path, err)
		}
		return nil
	case <-timer.C:
		why = fmt.Errorf("lock %s after %v: %w", l.path, timeout, ErrTimeout)
	case <-ctx.Done():
		why = fmt.Errorf("lock %s: %w", l.path, ctx.Err())
	}
	mu.Lock()
	select {
	case err := <-done: // the lock came just as the wait ended: keep it
		mu.Unlock()
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.path, err)
		}
		return nil
	default:
	}
	gaveUp = true
	mu.Unlock()
	l.abandoned = ended
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		l.f = nil
		return errors.Join(why, fmt.Errorf("reopen lock file: %w", err))
	}
	l.f = f
	return why
}

// Unlock releases the lock.
func (l *Locker) Unlock() error {
	if l.f == nil {
		return fmt.Errorf("unlock %s: %w", l.path, os.ErrClosed)
	}
	return Unlock(l.f)
}

// Close closes the lock file (releasing any lock held through it).
func (l *Locker) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
