package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// FileName is the name of the database file inside the state directory.
const FileName = "state.db"

// LockFileName is the lock file inside the state directory that processes sharing the
// directory take turns on.
const LockFileName = "state.lock"

// OwnersDir is the directory inside the state directory where each open Bolt holds a
// lifetime lock on its own file: a pending ledger entry whose owner's file is not locked
// belongs to a process that is gone.
const OwnersDir = "owners"

// Bucket names. They are part of the on-disk format: do not rename.
var (
	bucketEvents       = []byte("events")
	bucketKnown        = []byte("known_recipients")
	bucketOptOuts      = []byte("optouts")
	bucketNonces       = []byte("token_nonces")
	bucketInbound      = []byte("inbound")
	bucketDeliveries   = []byte("deliveries")
	bucketToolContacts = []byte("tool_contacts")
	bucketLedger       = []byte("ledger")          // entry ID -> boltEntry JSON
	bucketLedgerOpen   = []byte("ledger_open")     // pending entry ID -> owner
	bucketOptOutsGone  = []byte("optouts_removed") // e164 -> time the operator last lifted its opt-out
)

var allBuckets = [][]byte{bucketEvents, bucketKnown, bucketOptOuts, bucketNonces, bucketInbound,
	bucketDeliveries, bucketToolContacts, bucketLedger, bucketLedgerOpen, bucketOptOutsGone}

// bucketAccounts holds one nested bucket per account other than the default
// (accounts/<id>/<bucket>), with every bucket of allBuckets but events: event windows of
// every account live in the one events bucket, under keys scoped with ScopedKey, so that
// "global/" keys are shared and one sweep prunes them all. Created with the first view.
var bucketAccounts = []byte("accounts")

// accountBuckets are the buckets each account has of its own.
var accountBuckets = [][]byte{bucketKnown, bucketOptOuts, bucketNonces, bucketInbound,
	bucketDeliveries, bucketToolContacts, bucketLedger, bucketLedgerOpen, bucketOptOutsGone}

// Defaults for Options fields left at their zero value.
const (
	DefaultLockTimeout    = time.Second
	DefaultEventRetention = 25 * time.Hour
	DefaultDeliveryTTL    = 24 * time.Hour
	DefaultMaxInbound     = 1000
	defaultPruneInterval  = time.Minute
	sweepInterval         = time.Hour
	maxKeyLen             = 512
)

// Options tunes a Bolt. The zero value is usable.
type Options struct {
	// Clock is used for expiry of nonces and delivery IDs, settle times and sweeps; nil
	// means the real clock.
	Clock clockwork.Clock
	// LockTimeout bounds the wait for the state lock in each transaction (default 1 s).
	LockTimeout time.Duration
	// EventRetention is how long events and settled ledger entries are kept (default
	// 25 h); it must exceed the longest sliding window the caller asks about.
	EventRetention time.Duration
	// DeliveryTTL is how long a webhook delivery ID is remembered (default 24 h).
	DeliveryTTL time.Duration
	// MaxInbound caps the number of inbound events kept (default 1000; oldest dropped).
	MaxInbound int
	// RequireExisting refuses to start (ErrMissing) when state.db is missing or empty,
	// instead of creating it: set it when the audit log shows history, so that a lost
	// state file (and its opt-outs) is never silently replaced by an empty one.
	RequireExisting bool
	// Account makes the opened Bolt the view of that account (as ForAccount would: see
	// Accounts); empty is the default account, with the single-account layout.
	Account string
}

// Bolt is the bbolt engine: the state lives in <dir>/state.db (mode 0600).
//
// Any number of processes may share a state directory (Claude Desktop and several Claude
// Code sessions each run their own server). The bbolt file is therefore not held open:
// every operation takes a lock on <dir>/state.lock (shared to read, exclusive to write),
// checks the file's meta pages, opens it, runs one transaction, and closes it again, so
// each operation sees every other process's committed writes. Operations hold the lock
// only for their own short transaction; nothing waits on a network call.
//
// A Bolt is safe for concurrent use by goroutines; its own transactions run one at a time.
//
// A Bolt is also the view of one account (Options.Account, ForAccount): the default
// account's buckets are the top-level ones (the layout of single-account files), another
// account's are nested under accounts/<id>/. Every view of one engine shares its lock
// file, owner and transactions.
type Bolt struct {
	*boltEngine
	account string
	isView  bool        // made by ForAccount: Close releases nothing of the engine
	closed  atomic.Bool // this view was closed
}

// boltEngine is what every view of one opened state directory shares.
type boltEngine struct {
	dir  string
	path string
	opts Options

	owner     string   // this Bolt's owner ID, recorded on the entries it reserves
	ownerLock *os.File // <dir>/owners/<owner>.lock, locked for the Bolt's lifetime

	mu   sync.Mutex       // serialises transactions: the flock on lock is per open file description
	lock *filelock.Locker // <dir>/state.lock; nil after Close

	pruneMu   sync.Mutex // guards lastPrune and lastSweep
	lastPrune time.Time
	lastSweep time.Time

	ensured sync.Map // account id -> struct{}: its buckets exist in the file
}

var (
	_ Store    = (*Bolt)(nil)
	_ Accounts = (*Bolt)(nil)
)

// Open prepares <dir>/state.db (created with its buckets if needed, unless
// Options.RequireExisting), <dir>/state.lock and this process's owner lock. The directory
// is created with mode 0700 if it does not exist. Other processes may open the same
// directory at the same time.
//
// Open refuses a damaged file (ErrDamaged: bad meta pages, a high-water mark beyond the
// file's end, unreadable pages) without mapping the damage, and a missing or empty file
// when Options.RequireExisting is set (ErrMissing); both errors name `agentphone-mcp state
// rebuild`. It fails with ErrInUse if the file stays locked longer than
// Options.LockTimeout.
func Open(dir string, opts Options) (*Bolt, error) {
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
	if opts.RequireExisting {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, missingError(path, "is missing")
		case err != nil:
			return nil, fmt.Errorf("store: stat %s: %w", path, err)
		case fi.Size() == 0:
			return nil, missingError(path, "is empty (0 bytes)")
		}
	}
	if opts.Account != "" {
		if err := CheckAccount(opts.Account); err != nil {
			return nil, fmt.Errorf("store: Options.Account: %w", err)
		}
	}
	lock, err := filelock.OpenLocker(filepath.Join(dir, LockFileName))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Bolt{boltEngine: &boltEngine{dir: dir, path: path, opts: opts, lock: lock}, account: opts.Account}
	err = s.run(context.Background(), "open the state file", true, func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		if err := ensureAccount(tx, opts.Account); err != nil {
			return err
		}
		return walk(tx)
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
	if s.owner, s.ownerLock, err = claimOwner(dir); err != nil {
		_ = lock.Close()
		return nil, err
	}
	if opts.Account != "" {
		s.ensured.Store(opts.Account, struct{}{})
	}
	return s, nil
}

// ensureAccount creates account's buckets (accounts/<id>/...) if they are missing; the
// default account's are the top-level ones, created by Open.
func ensureAccount(tx *bolt.Tx, account string) error {
	if account == "" {
		return nil
	}
	all, err := tx.CreateBucketIfNotExists(bucketAccounts)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketAccounts, err)
	}
	ab, err := all.CreateBucketIfNotExists([]byte(account))
	if err != nil {
		return fmt.Errorf("create the buckets of account %s: %w", account, err)
	}
	for _, b := range accountBuckets {
		if _, err := ab.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s of account %s: %w", b, account, err)
		}
	}
	return nil
}

// ForAccount implements Accounts: a view of this engine for account, sharing its lock,
// owner and file. The first view of an account in this engine creates the account's
// buckets (one write transaction); later ones do no I/O. It fails with ErrClosed once the
// engine is closed.
func (s *Bolt) ForAccount(account string) (Store, error) {
	if err := CheckAccount(account); err != nil {
		return nil, fmt.Errorf("store: for account: %w", err)
	}
	v := &Bolt{boltEngine: s.boltEngine, account: account, isView: true}
	if _, ok := s.ensured.Load(account); ok {
		if s.engineClosed() {
			return nil, fmt.Errorf("store: for account: %w", ErrClosed)
		}
		return v, nil
	}
	err := s.run(context.Background(), "create the account's state", true, func(tx *bolt.Tx) error {
		return ensureAccount(tx, account)
	})
	if err != nil {
		return nil, err
	}
	s.ensured.Store(account, struct{}{})
	return v, nil
}

// AccountIDs implements Accounts: the accounts that have buckets in the file.
func (s *Bolt) AccountIDs(ctx context.Context) ([]string, error) {
	var out []string
	err := s.viewEngine(ctx, "list accounts", func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketAccounts)
		if all == nil {
			return nil
		}
		return all.ForEach(func(k, v []byte) error {
			if v == nil {
				out = append(out, string(k))
			}
			return nil
		})
	})
	return out, err
}

// Account returns the account this Bolt is the view of ("" for the default account).
func (s *Bolt) Account() string { return s.account }

// engineClosed reports whether the engine was closed.
func (s *boltEngine) engineClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lock == nil
}

// b returns the account's bucket name inside tx (run checked that the account's buckets
// exist). Event windows are not the account's own: use tx.Bucket(bucketEvents).
func (s *Bolt) b(tx *bolt.Tx, name []byte) *bolt.Bucket {
	if s.account == "" {
		return tx.Bucket(name)
	}
	return tx.Bucket(bucketAccounts).Bucket([]byte(s.account)).Bucket(name)
}

// missingError explains a missing or empty state file where history says there was one.
func missingError(path, what string) error {
	return fmt.Errorf("store: %s %s, but the audit log shows this state dir has history: starting with empty state would forget opt-outs, caps and known recipients. "+
		"Stop every agentphone-mcp using this state dir and run `agentphone-mcp state rebuild` to rebuild it from the audit log: %w", path, what, ErrMissing)
}

// Path returns the database file path.
func (s *Bolt) Path() string { return s.path }

// Dir returns the state directory.
func (s *Bolt) Dir() string { return s.dir }

// Owner returns this Bolt's owner ID (recorded on the entries it reserves).
func (s *Bolt) Owner() string { return s.owner }

// Close releases the lock file and the owner lock. The state file is not held open
// between transactions, so Close never loses data. Later calls fail with ErrClosed, on
// every view of the engine too. Closing a view (ForAccount) only ends that view.
func (s *Bolt) Close() error {
	if s.isView {
		s.closed.Store(true)
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	if s.ownerLock != nil {
		_ = os.Remove(s.ownerLock.Name()) // removed while still locked: no one can mistake it
		err = errors.Join(err, s.ownerLock.Close())
		s.ownerLock = nil
	}
	if err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// update runs fn in a write transaction after checking ctx.
func (s *Bolt) update(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	return s.run(ctx, what, true, fn)
}

// view runs fn in a read transaction after checking ctx.
func (s *Bolt) view(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	return s.run(ctx, what, false, fn)
}

// viewEngine runs fn in a read transaction that reads no account's buckets (so it works
// on a closed view's engine too).
func (s *Bolt) viewEngine(ctx context.Context, what string, fn func(tx *bolt.Tx) error) error {
	return s.boltEngine.run(ctx, what, false, fn)
}

// run runs fn in one transaction of the engine, for this view's account: a closed view
// fails with ErrClosed, and the account's buckets must exist (ForAccount created them; a
// state file replaced since is an error, never a panic).
func (s *Bolt) run(ctx context.Context, what string, write bool, fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return fmt.Errorf("store: %s: %w", what, ErrClosed)
	}
	if s.account == "" {
		return s.boltEngine.run(ctx, what, write, fn)
	}
	return s.boltEngine.run(ctx, what, write, func(tx *bolt.Tx) error {
		if all := tx.Bucket(bucketAccounts); all == nil || all.Bucket([]byte(s.account)) == nil {
			if !write {
				return fmt.Errorf("%w: the state of account %s is missing from %s (was the file replaced?); open the account again", ErrMissing, s.account, s.path)
			}
			if err := ensureAccount(tx, s.account); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// run takes the state lock (exclusive when write), checks the file, opens state.db, runs
// fn in one transaction, and closes the file and the lock again.
func (s *boltEngine) run(ctx context.Context, what string, write bool, fn func(tx *bolt.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return fmt.Errorf("store: %s: %w", what, ErrClosed)
	}
	if err := s.lock.Lock(ctx, write, s.opts.LockTimeout); err != nil {
		if errors.Is(err, filelock.ErrTimeout) {
			return fmt.Errorf("store: %s: %w: %w (another process held it longer than %v; retry, or stop the stuck process)", what, ErrInUse, err, s.opts.LockTimeout)
		}
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer func() {
		if uerr := s.lock.Unlock(); uerr != nil && err == nil {
			err = fmt.Errorf("store: %s: %w", what, uerr)
		}
	}()
	if err := checkFile(s.path, write); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := s.transact(write, fn); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// transact opens the file and runs fn. A panic inside bbolt (a damaged page) and a fault
// on the mapped file (SIGBUS, SIGSEGV: a file shrunk under it) become ErrDamaged errors
// instead of killing the process.
func (s *boltEngine) transact(write bool, fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var db *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: reading it failed (%v); stop every agentphone-mcp using it and run `agentphone-mcp state rebuild`", ErrDamaged, s.path, r)
		}
		if db != nil {
			if cerr := closeDB(db); cerr != nil && err == nil {
				err = fmt.Errorf("close %s: %w", s.path, cerr)
			}
		}
	}()
	db, err = bolt.Open(s.path, 0o600, &bolt.Options{Timeout: s.opts.LockTimeout, ReadOnly: !write})
	if err != nil {
		db = nil
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return fmt.Errorf("open %s: %w (an older agentphone-mcp holds it for its lifetime; stop it or use another AGENTPHONE_STATE_DIR)", s.path, ErrInUse)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
			return damagedError(s.path, err.Error())
		}
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	if write {
		return db.Update(fn)
	}
	return db.View(fn)
}

// closeDB closes db, turning a panic into an error.
func closeDB(db *bolt.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: closing it failed (%v)", ErrDamaged, r)
		}
	}()
	return db.Close()
}

// walk reads every bucket and key once, so that a damaged page is found at Open (as a
// panic or fault that transact turns into ErrDamaged) rather than in the middle of a send.
func walk(tx *bolt.Tx) error {
	var visit func(b *bolt.Bucket, depth int) error
	visit = func(b *bolt.Bucket, depth int) error {
		if depth > 4 {
			return fmt.Errorf("%w: buckets nested deeper than this program writes", ErrDamaged)
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					return visit(nb, depth+1)
				}
			}
			return nil
		})
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return visit(b, 0) })
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

// dueSweep reports whether a sweep of events and settled entries should run now, and
// records that it ran. One-off keys, such as a duplicate-SMS key, are never written
// again, so only a sweep removes them.
func (s *boltEngine) dueSweep(now time.Time) bool {
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	if !s.lastSweep.IsZero() && now.Sub(s.lastSweep) < sweepInterval && now.After(s.lastSweep) {
		return false
	}
	s.lastSweep = now
	return true
}

// duePrune reports whether a periodic prune should run now (at most once per minute), and
// records that it ran.
func (s *boltEngine) duePrune(now time.Time) bool {
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	if !s.lastPrune.IsZero() && now.Sub(s.lastPrune) < defaultPruneInterval && now.After(s.lastPrune) {
		return false
	}
	s.lastPrune = now
	return true
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
