// Package store keeps the policy engine's persistent state in one bbolt file,
// <StateDir>/state.db (mode 0600): sliding-window event counters, known
// recipients, the opt-out (suppression) list, used confirmation-token nonces,
// inbound webhook events and webhook delivery IDs for de-duplication.
//
// A Store is safe for concurrent use by multiple goroutines. Only one process
// may open a state directory at a time; a second process gets an error saying
// the state dir is in use.
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
)

// FileName is the name of the database file inside the state directory.
const FileName = "state.db"

// Bucket names. They are part of the on-disk format: do not rename.
var (
	bucketEvents     = []byte("events")
	bucketKnown      = []byte("known_recipients")
	bucketOptOuts    = []byte("optouts")
	bucketNonces     = []byte("token_nonces")
	bucketInbound    = []byte("inbound")
	bucketDeliveries = []byte("deliveries")
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

// ErrInUse is returned (wrapped) by Open when another process holds the state file.
var ErrInUse = errors.New("state dir is in use by another agentphone-mcp process")

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Clock is used for expiry of nonces and delivery IDs; nil means the real clock.
	Clock clockwork.Clock
	// LockTimeout bounds the wait for the file lock (default 1 s).
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
	db   *bolt.DB
	path string
	opts Options

	mu        sync.Mutex // guards lastPrune
	lastPrune time.Time
}

// Open opens (creating if needed) <dir>/state.db with mode 0600. The directory is
// created with mode 0700 if it does not exist. If another process holds the
// file, Open fails after Options.LockTimeout with an error wrapping ErrInUse.
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
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: %w (stop the other process or use another AGENTPHONE_STATE_DIR)", path, ErrInUse)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// bbolt keeps the mode of an existing file; enforce 0600 either way.
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: chmod %s to 0600: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketKnown, bucketOptOuts, bucketNonces, bucketInbound, bucketDeliveries} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: initialise %s: %w", path, err)
	}
	return &Store{db: db, path: path, opts: opts}, nil
}

// Path returns the database file path.
func (s *Store) Path() string { return s.path }

// Now returns the store's clock time.
func (s *Store) Now() time.Time { return s.opts.Clock.Now() }

// Close releases the file and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// update runs fn in a write transaction after checking ctx.
func (s *Store) update(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// view runs fn in a read transaction after checking ctx.
func (s *Store) view(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := s.db.View(fn); err != nil {
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

// duePrune reports whether a periodic prune should run now (at most once per
// minute), and records that it ran.
func (s *Store) duePrune(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastPrune.IsZero() && now.Sub(s.lastPrune) < defaultPruneInterval && now.After(s.lastPrune) {
		return false
	}
	s.lastPrune = now
	return true
}
