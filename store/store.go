// Package store keeps the policy engine's persistent state in one bbolt file,
// <StateDir>/state.db (mode 0600): sliding-window event counters, known
// recipients, the opt-out (suppression) list, used confirmation-token nonces,
// inbound webhook events and webhook delivery IDs for de-duplication.
//
// Any number of processes may share a state directory (Claude Desktop and
// several Claude Code sessions each run their own server). The bbolt file is
// therefore not held open: every transaction (View, Update, or one of the
// single-operation methods) takes a lock on <StateDir>/state.lock (shared to
// read, exclusive to write), opens state.db, runs, and closes it again, so
// each transaction sees every other process's committed writes. Group the
// reads of one decision into one View, and the writes of one outcome into one
// Update, to pay the open once.
//
// A Store is safe for concurrent use by multiple goroutines; its own
// transactions run one at a time.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// FileName is the name of the database file inside the state directory.
const FileName = "state.db"

// LockFileName is the lock file inside the state directory that processes
// sharing the directory take turns on.
const LockFileName = "state.lock"

// Bucket names. They are part of the on-disk format: do not rename.
var (
	bucketEvents       = []byte("events")
	bucketKnown        = []byte("known_recipients")
	bucketOptOuts      = []byte("optouts")
	bucketNonces       = []byte("token_nonces")
	bucketInbound      = []byte("inbound")
	bucketDeliveries   = []byte("deliveries")
	bucketToolContacts = []byte("tool_contacts")
	bucketOptOutsGone  = []byte("optouts_removed") // e164 -> time the operator lifted its opt-out
)

// Defaults for Options fields left at their zero value.
const (
	DefaultLockTimeout    = time.Second
	DefaultEventRetention = 25 * time.Hour
	DefaultDeliveryTTL    = 24 * time.Hour
	DefaultMaxInbound     = 1000
	defaultPruneInterval  = time.Minute
	maxKeyLen             = 512
)

// ErrInUse is returned (wrapped) when the state file stayed locked longer
// than Options.LockTimeout: another process is stuck in a transaction, or an
// older agentphone-mcp that holds the file for its whole lifetime is running.
var ErrInUse = errors.New("state dir is in use by another agentphone-mcp process")

// ErrClosed is returned (wrapped) by every method after Close.
var ErrClosed = errors.New("store is closed")

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Clock is used for expiry of nonces and delivery IDs; nil means the real clock.
	Clock clockwork.Clock
	// LockTimeout bounds the wait for the state lock in each transaction (default 1 s).
	LockTimeout time.Duration
	// EventRetention is how long event timestamps are kept (default 25 h); it must
	// exceed the longest sliding window the caller asks about.
	EventRetention time.Duration
	// DeliveryTTL is how long a webhook delivery ID is remembered (default 24 h).
	DeliveryTTL time.Duration
	// MaxInbound caps the number of inbound events kept (default 1000; oldest dropped).
	MaxInbound int
}

// Store is the persistent policy state. Create it with Open; Close it once.
type Store struct {
	path string
	opts Options

	mu   sync.Mutex // serialises transactions: the flock on lock is per open file description
	lock *os.File   // <dir>/state.lock; nil after Close

	pruneMu   sync.Mutex // guards lastPrune
	lastPrune time.Time
	lastSweep time.Time
}

// Open prepares <dir>/state.db (mode 0600, created if needed, with its
// buckets) and <dir>/state.lock. The directory is created with mode 0700 if
// it does not exist. Other processes may open the same directory at the same
// time. Open fails with an error wrapping ErrInUse if the file stays locked
// longer than Options.LockTimeout.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: state dir is empty; set AGENTPHONE_STATE_DIR")
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.EventRetention <= 0 {
		opts.EventRetention = DefaultEventRetention
	}
	if opts.DeliveryTTL <= 0 {
		opts.DeliveryTTL = DefaultDeliveryTTL
	}
	if opts.MaxInbound <= 0 {
		opts.MaxInbound = DefaultMaxInbound
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create state dir %s: %w", dir, err)
	}
	lockPath := filepath.Join(dir, LockFileName)
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|fsguard.NoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file %s: %w", lockPath, err)
	}
	s := &Store{path: filepath.Join(dir, FileName), opts: opts, lock: lock}
	err = s.run(context.Background(), "initialise", true, func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketKnown, bucketOptOuts, bucketNonces, bucketInbound, bucketDeliveries, bucketToolContacts, bucketOptOutsGone} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	// bbolt keeps the mode of an existing file; enforce 0600 either way.
	if err := os.Chmod(s.path, 0o600); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("store: chmod %s to 0600: %w", s.path, err)
	}
	return s, nil
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// Now returns the store's clock time.
func (s *Store) Now() time.Time { return s.opts.Clock.Now() }

// Close releases the lock file. The state file is not held open between
// transactions, so Close never loses data. Later calls fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	if err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// update runs fn in a write transaction after checking ctx.
func (s *Store) update(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	return s.run(ctx, what, true, fn)
}

// view runs fn in a read transaction after checking ctx.
func (s *Store) view(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	return s.run(ctx, what, false, fn)
}

// run takes the state lock (exclusive when write), opens state.db, runs fn in
// one transaction, and closes the file and the lock again.
func (s *Store) run(ctx context.Context, what string, write bool, fn func(tx *bolt.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return fmt.Errorf("store: %s: %w", what, ErrClosed)
	}
	if err := filelock.Lock(ctx, s.lock, write, s.opts.LockTimeout); err != nil {
		if errors.Is(err, filelock.ErrTimeout) {
			return fmt.Errorf("store: %s: %w: %w (another process held it longer than %v; retry, or stop the stuck process)", what, ErrInUse, err, s.opts.LockTimeout)
		}
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer func() {
		if uerr := filelock.Unlock(s.lock); uerr != nil && err == nil {
			err = fmt.Errorf("store: %s: %w", what, uerr)
		}
	}()
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: s.opts.LockTimeout, ReadOnly: !write})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("store: %s: open %s: %w (an older agentphone-mcp holds it for its lifetime; stop it or use another AGENTPHONE_STATE_DIR)", what, s.path, ErrInUse)
		}
		return fmt.Errorf("store: %s: open %s: %w", what, s.path, err)
	}
	if write {
		err = db.Update(fn)
	} else {
		err = db.View(fn)
	}
	if cerr := db.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s: %w", s.path, cerr)
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// checkKey rejects empty or oversized keys (bbolt's own limit is 32 KiB).
func checkKey(kind, k string) error {
	if k == "" {
		return fmt.Errorf("empty %s", kind)
	}
	if len(k) > maxKeyLen {
		return fmt.Errorf("%s longer than %d bytes", kind, maxKeyLen)
	}
	return nil
}

// sweepInterval is how often AddEvent sweeps every event key for old entries and
// deletes the keys left empty (one-off keys, such as a duplicate-SMS key, are never
// written again, so only a sweep removes them).
const sweepInterval = time.Hour

// dueSweep reports whether an event sweep should run now, and records that it ran.
func (s *Store) dueSweep(now time.Time) bool {
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	if !s.lastSweep.IsZero() && now.Sub(s.lastSweep) < sweepInterval && now.After(s.lastSweep) {
		return false
	}
	s.lastSweep = now
	return true
}

// duePrune reports whether a periodic prune should run now (at most once per
// minute), and records that it ran.
func (s *Store) duePrune(now time.Time) bool {
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	if !s.lastPrune.IsZero() && now.Sub(s.lastPrune) < defaultPruneInterval && now.After(s.lastPrune) {
		return false
	}
	s.lastPrune = now
	return true
}
