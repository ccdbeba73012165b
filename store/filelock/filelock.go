// Package filelock takes advisory whole-file locks that several processes
// sharing one state directory use to take turns: shared locks for readers,
// exclusive locks for writers. On Unix it is flock(2), which is held per
// open file description, so two *os.File values on the same path exclude
// each other even inside one process; on Windows it is LockFileEx.
//
// A lock that cannot be taken at once is retried with a short, growing
// back-off (from 50 µs to 5 ms) until the timeout; callers that share one
// *os.File between goroutines must serialise them themselves.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrTimeout is returned (wrapped) when the lock was not free within the timeout.
var ErrTimeout = errors.New("timed out waiting for the file lock")

// Back-off bounds while the lock is held elsewhere.
const (
	minBackoff = 50 * time.Microsecond
	maxBackoff = 1 * time.Millisecond
)

// Lock takes a shared (exclusive=false) or exclusive lock on f, waiting up to
// timeout (0 means one attempt) or until ctx is done.
func Lock(ctx context.Context, f *os.File, exclusive bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	wait := minBackoff
	for {
		ok, err := tryLock(f, exclusive)
		if err != nil {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("lock %s after %v: %w", f.Name(), timeout, ErrTimeout)
		}
		t := time.NewTimer(min(wait, time.Until(deadline)+time.Microsecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("lock %s: %w", f.Name(), ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// Unlock releases the lock held on f.
func Unlock(f *os.File) error {
	if err := unlock(f); err != nil {
		return fmt.Errorf("unlock %s: %w", f.Name(), err)
	}
	return nil
}
