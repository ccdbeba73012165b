// Package redisstore is the Redis engine of store.Store: the state several replicas of
// agentphone-mcp share (the send ledger, cap windows, opt-outs, known recipients, token
// nonces, webhook delivery IDs and inbound events), so that every safety promise holds
// across replicas exactly as in one process.
//
// Atomicity. Every operation is one server-side atomic step:
//   - Reserve and Settle are optimistic transactions (WATCH the keys the decision reads,
//     read, decide in Go, then MULTI/EXEC the writes). EXEC fails when any watched key
//     changed meanwhile; the step is then retried from the reads, a bounded number of
//     times with jittered backoff. A cap is therefore exact across replicas: two replicas
//     can never both write a reservation decided on the same sum.
//   - Nonces, delivery IDs and inbound events are Lua scripts (single-use and
//     first-seen checks in one step).
//
// Expiry. Event windows are sorted sets (score: the event time in microseconds) pruned
// to the retention at every write and given a TTL of the retention, so a key expires
// when its last window ends; settled ledger entries expire after the retention; nonces
// and delivery IDs carry their own TTL.
//
// Owners. Each open Redis store is an owner with a heartbeat key (TTL Options.OwnerTTL,
// refreshed every third of it). RecoverAbandoned turns pending entries of owners whose
// heartbeat key is gone (the replica exited or was killed) into unknown.
//
// Fail closed. When Redis cannot be reached or answers with an error, every operation
// returns an error wrapping store.ErrUnavailable that names Redis and what to do;
// nothing was written, so nothing counted may be sent.
//
// All keys of one deployment share the hash tag {Prefix}, so the engine also runs on a
// Redis Cluster (in one slot).
package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/agentphone-mcp/agentphone-mcp/store"
)

// Defaults for Options fields left at their zero value.
const (
	DefaultPrefix     = "agentphone"
	DefaultOwnerTTL   = 15 * time.Second
	DefaultMaxRetries = 200
	// skewMargin is added to every TTL derived from the engine clock, so that replicas
	// whose clocks differ a little never forget a nonce or delivery ID early.
	skewMargin = time.Minute
)

// Options tunes a Redis store. The zero value is usable.
type Options struct {
	// Clock is the engine clock (settle times, nonce and delivery expiry); nil means the
	// real clock. Redis TTLs themselves run on the Redis server's clock.
	Clock clockwork.Clock
	// Prefix names the deployment's keys ({Prefix}:...); default "agentphone".
	Prefix string
	// Account makes the opened store the view of that account (as ForAccount would: see
	// store.Accounts); empty is the single default account.
	Account string
	// EventRetention is how long events and settled ledger entries are kept (default
	// store.DefaultEventRetention); it must exceed the longest sliding window asked about.
	EventRetention time.Duration
	// DeliveryTTL is how long a webhook delivery ID is remembered (default
	// store.DefaultDeliveryTTL).
	DeliveryTTL time.Duration
	// MaxInbound caps the number of inbound events kept (default store.DefaultMaxInbound).
	MaxInbound int
	// OwnerTTL is the life of this owner's heartbeat key: a replica silent for longer is
	// taken for dead and its pending entries are recovered as unknown (default 15 s).
	OwnerTTL time.Duration
	// MaxRetries bounds the optimistic retries of one Reserve or Settle (default 200).
	MaxRetries int
}

// Redis is the Redis engine. It is safe for concurrent use; any number of Redis stores
// (replicas) may share one Redis server.
//
// A Redis is also the view of one account (Options.Account, ForAccount): the default
// account's keys are "{prefix}:<name>", another account's "{prefix}:acct/<id>/<name>", and
// event windows "{prefix}:ev:" + store.ScopedKey(account, key), so "global/" windows are
// shared. Every view of one engine shares its client, owner, heartbeat and reservation
// queue.
type Redis struct {
	*engine
	account string
	base    string      // "{prefix}:" plus the account part, for the account's own keys
	isView  bool        // made by ForAccount: Close releases nothing of the engine
	closedV atomic.Bool // this view was closed
}

// engine is what every view of one opened Redis store shares.
type engine struct {
	rdb   redis.UniversalClient
	owned bool // Close closes rdb
	opts  Options
	where string // the server address, for error messages (never the password)

	owner string
	tag   string // "{prefix}:", for the engine's own keys (owners, the account set)
	evs   string // "{prefix}:ev:" for event keys (scoped with store.ScopedKey)

	// reserveMu queues this replica's reservations: they nearly all read the same
	// account-wide windows (SMS segments, calls), so run at once they would only make each
	// other's optimistic transactions fail. Queued, only other replicas can conflict, and
	// waiting is fair. It is held for the short transaction only, never for an API call.
	reserveMu sync.Mutex

	mu     sync.Mutex
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

var (
	_ store.Store    = (*Redis)(nil)
	_ store.Pinger   = (*Redis)(nil)
	_ store.Accounts = (*Redis)(nil)

	_ store.AccountInboundWatcher = (*Redis)(nil)
)

// quietLogger drops go-redis's own log lines: they would go to stderr unstructured (and
// the library logs every failed dial). Every failure reaches the caller as an error
// instead, which the server logs with slog.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLogger{}) }

// Conn says how to reach Redis.
type Conn struct {
	// URL is redis://[user:password@]host:port[/db], or rediss:// for TLS.
	URL string
	// PasswordFile holds the password (it wins over one in the URL; a trailing newline is
	// ignored).
	PasswordFile string
	// CAFile is a PEM bundle of the CAs that may sign the server's certificate (rediss://
	// only); empty means the system's roots.
	CAFile string
}

// ClientOptions turns c into go-redis options.
func ClientOptions(c Conn) (*redis.Options, error) {
	rawURL, passwordFile := c.URL, c.PasswordFile
	if !strings.HasPrefix(rawURL, "redis://") && !strings.HasPrefix(rawURL, "rediss://") {
		return nil, errors.New("AGENTPHONE_REDIS_URL must start with redis:// or rediss:// (TLS)")
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		// ParseURL's errors can quote the URL, which may hold a password: do not wrap it.
		return nil, errors.New("AGENTPHONE_REDIS_URL is not a valid redis:// or rediss:// URL (redis://[user:password@]host:port[/db])")
	}
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return nil, fmt.Errorf("AGENTPHONE_REDIS_PASSWORD_FILE: %w", err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return nil, fmt.Errorf("AGENTPHONE_REDIS_PASSWORD_FILE %s is empty", passwordFile)
		}
		o.Password = pw
	}
	if c.CAFile != "" {
		if o.TLSConfig == nil {
			return nil, errors.New("AGENTPHONE_REDIS_CA_FILE is set but AGENTPHONE_REDIS_URL is not rediss:// (TLS)")
		}
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("AGENTPHONE_REDIS_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AGENTPHONE_REDIS_CA_FILE %s holds no PEM certificate", c.CAFile)
		}
		o.TLSConfig.RootCAs = pool
	}
	o.DialTimeout = 2 * time.Second
	o.ReadTimeout = 2 * time.Second
	o.WriteTimeout = 2 * time.Second
	o.MaxRetries = 1
	o.DialerRetries = 1 // an unreachable Redis is reported at once, not after five dials
	return o, nil
}

// Open connects to the Redis c names, checks that it answers, and returns a store owning
// the client.
func Open(ctx context.Context, c Conn, opts Options) (*Redis, error) {
	co, err := ClientOptions(c)
	if err != nil {
		return nil, fmt.Errorf("store: redis: %w", err)
	}
	s, err := newStore(redis.NewClient(co), true, co.Addr, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.checkEviction(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.beat(ctx); err != nil {
		_ = s.Close()
		return nil, s.fail("register this replica", err)
	}
	return s, nil
}

// checkEviction refuses a Redis that may evict keys to make room: it could drop an
// opt-out, a pending reservation, a used token's nonce or a cap window, silently. Only
// maxmemory-policy noeviction (the default) is safe: a full Redis then refuses writes,
// and so the replicas refuse sends.
func (s *Redis) checkEviction(ctx context.Context) error {
	info, err := s.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return s.fail("read the eviction policy", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "maxmemory_policy:"); ok && v != "noeviction" {
			return fmt.Errorf("store: Redis at %s may evict keys (maxmemory-policy %s), which could silently drop opt-outs, reservations and used tokens; "+
				"set maxmemory-policy noeviction (deploy/redis.conf does)", s.where, v)
		}
	}
	return nil
}

// New returns a store on an existing client (not closed by Close). It registers this
// owner's heartbeat and fails when Redis does not answer.
func New(ctx context.Context, rdb redis.UniversalClient, opts Options) (*Redis, error) {
	s, err := newStore(rdb, false, "", opts)
	if err != nil {
		return nil, err
	}
	if err := s.beat(ctx); err != nil {
		_ = s.Close()
		return nil, s.fail("register this replica", err)
	}
	return s, nil
}

// newStore makes the store and starts its heartbeat (Close stops it).
func newStore(rdb redis.UniversalClient, owned bool, where string, opts Options) (*Redis, error) {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("store: redis: prefix %q must not contain braces", opts.Prefix)
	}
	if opts.EventRetention <= 0 {
		opts.EventRetention = store.DefaultEventRetention
	}
	if opts.DeliveryTTL <= 0 {
		opts.DeliveryTTL = store.DefaultDeliveryTTL
	}
	if opts.MaxInbound <= 0 {
		opts.MaxInbound = store.DefaultMaxInbound
	}
	if opts.OwnerTTL <= 0 {
		opts.OwnerTTL = DefaultOwnerTTL
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.Account != "" {
		if err := store.CheckAccount(opts.Account); err != nil {
			return nil, fmt.Errorf("store: redis: Options.Account: %w", err)
		}
	}
	if where == "" {
		where = "the configured Redis"
	}
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	tag := "{" + opts.Prefix + "}:"
	e := &engine{
		rdb: rdb, owned: owned, opts: opts, where: where,
		owner: fmt.Sprintf("r-%s-%d-%s", host, os.Getpid(), randomHex(6)),
		tag:   tag, evs: tag + "ev:",
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go e.heartbeat()
	return e.view(opts.Account, false), nil
}

// view returns the store of account on e.
func (e *engine) view(account string, isView bool) *Redis {
	base := e.tag
	if account != "" {
		base += "acct/" + account + "/"
	}
	return &Redis{engine: e, account: account, base: base, isView: isView}
}

// ForAccount implements store.Accounts: a view of this engine for account, sharing its
// client, owner, heartbeat and reservation queue, with the keys a store opened with
// Options.Account = account uses (the two agree). It does no I/O; it fails with
// store.ErrClosed once the engine is closed.
func (s *Redis) ForAccount(account string) (store.Store, error) {
	if err := store.CheckAccount(account); err != nil {
		return nil, fmt.Errorf("store: for account: %w", err)
	}
	if err := s.engine.check(); err != nil {
		return nil, fmt.Errorf("store: for account: %w", err)
	}
	return s.engine.view(account, true), nil
}

// AccountIDs implements store.Accounts: the accounts that ever reserved (each Reserve of
// an account other than the default adds it to the set {prefix}:accounts), sorted.
func (s *Redis) AccountIDs(ctx context.Context) ([]string, error) {
	if err := s.engine.check(); err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	ids, err := s.rdb.SMembers(ctx, s.kAccounts()).Result()
	if err != nil {
		return nil, s.fail("list accounts", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// Account returns the account this store is the view of ("" for the default account).
func (s *Redis) Account() string { return s.account }

// Owner returns this store's owner ID (recorded on the entries it reserves).
func (s *Redis) Owner() string { return s.owner }

// Client returns the underlying client (for pub/sub on the same server).
func (s *Redis) Client() redis.UniversalClient { return s.rdb }

// Key returns the full Redis key of one of this store's own names (for pub/sub channels
// and tests).
func (s *Redis) Key(name string) string { return s.base + name }

// Keys of the account's state.
func (s *Redis) kEntry(id string) string    { return s.base + "led:" + id }
func (s *Redis) kLedger() string            { return s.base + "ledger" }
func (s *Redis) kOpen() string              { return s.base + "open" }
func (s *Redis) kOptOuts() string           { return s.base + "optouts" }
func (s *Redis) kKnown() string             { return s.base + "known" }
func (s *Redis) kToolContacts() string      { return s.base + "toolcontacts" }
func (s *Redis) kOptOutsLifted() string     { return s.base + "optouts_removed" }
func (s *Redis) kNonce(n string) string     { return s.base + "nonce:" + n }
func (s *Redis) kDelivery(id string) string { return s.base + "delivery:" + id }
func (s *Redis) kInbound() string           { return s.base + "inbound" }
func (s *Redis) kInboundSeq() string        { return s.base + "inbound:seq" }
func (s *Redis) kEvents(key string) string {
	return s.evs + store.ScopedKey(s.account, key)
}

// Keys of the engine (every account's views share them). Owners are engine-wide, so
// that every view sees the same heartbeats.
func (e *engine) kOwner(o string) string { return e.tag + "owner:" + o }
func (e *engine) kAccounts() string      { return e.tag + "accounts" }

// InboundChannel is the pub/sub channel on which AppendInbound announces each new inbound
// event's sequence number, so that waits on every replica wake up.
func (s *Redis) InboundChannel() string { return s.base + "inbound:new" }

// Ping reports whether Redis answers now.
func (s *Redis) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

// Close stops the heartbeat and deletes this owner's heartbeat key (its pending entries
// become abandoned), then closes the client if Open made it. Later calls fail with
// store.ErrClosed, on every view of the engine too. Closing a view (ForAccount) only ends
// that view.
func (s *Redis) Close() error {
	if s.isView {
		s.closedV.Store(true)
		return nil
	}
	return s.engine.close()
}

func (s *engine) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.rdb.Del(ctx, s.kOwner(s.owner)).Err()
	if s.owned {
		err = errors.Join(err, s.rdb.Close())
	}
	if err != nil {
		return fmt.Errorf("store: redis: close: %w", err)
	}
	return nil
}

// check fails with store.ErrClosed when this view or its engine was closed.
func (s *Redis) check() error {
	if s.closedV.Load() {
		return store.ErrClosed
	}
	return s.engine.check()
}

func (s *engine) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// beat sets this owner's heartbeat key.
func (s *engine) beat(ctx context.Context) error {
	return s.rdb.Set(ctx, s.kOwner(s.owner), "1", s.opts.OwnerTTL).Err()
}

// heartbeat refreshes the owner key every third of its TTL until Close. It runs on real
// time: the key's TTL runs on the Redis server's real clock.
func (s *engine) heartbeat() {
	defer close(s.done)
	t := time.NewTicker(s.opts.OwnerTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.opts.OwnerTTL/3)
			_ = s.beat(ctx) // a missed beat is retried at the next tick
			cancel()
		}
	}
}

// fail wraps a Redis failure: ErrUnavailable (unless it is ErrClosed or a context error),
// naming Redis and what the operator should do.
func (s *engine) fail(what string, err error) error {
	switch {
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("store: %s: %w", what, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("store: %s: %w: Redis at %s did not answer in time (%v); nothing was changed", what, store.ErrUnavailable, s.where, err)
	}
	var re redis.Error
	if errors.As(err, &re) {
		return fmt.Errorf("store: %s: %w: Redis at %s refused the command (%v); nothing was changed; check AGENTPHONE_REDIS_PASSWORD_FILE and the server's configuration", what, store.ErrUnavailable, s.where, re)
	}
	return fmt.Errorf("store: %s: %w: Redis at %s is unreachable (%v); nothing was changed; start Redis or fix AGENTPHONE_REDIS_URL, then retry", what, store.ErrUnavailable, s.where, err)
}

// micros is t's score in a window sorted set: Unix microseconds (exact in a float64 for
// the next 200 years), clamped like the bbolt time keys.
func micros(t time.Time) float64 {
	return float64(nanos(t) / 1000)
}

// nanos is t in Unix nanoseconds, clamped to [0, MaxInt64].
func nanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// ttl is d rounded up to a whole millisecond plus the skew margin, and at least 1 s.
func ttl(d time.Duration) time.Duration {
	return max(d, time.Second) + skewMargin
}

// backoff waits before optimistic retry n (jittered, growing to 20 ms) or until ctx ends.
func backoff(ctx context.Context, n int) error {
	limit := min(time.Duration(1<<min(n, 5))*500*time.Microsecond, 20*time.Millisecond)
	j, _ := rand.Int(rand.Reader, big.NewInt(int64(limit)))
	t := time.NewTimer(time.Duration(j.Int64()) + 100*time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// encodeEntry and decodeEntry are the stored form of a ledger entry: the entry and the
// sorted-set members of its events, so that a failed settle removes exactly them.
type storedEntry struct {
	store.Entry
	Refs []eventRef `json:"refs,omitempty"`
}

type eventRef struct {
	Key    string `json:"k"` // the full Redis key
	Member string `json:"m"`
}

func decodeEntry(id, v string) (storedEntry, error) {
	var se storedEntry
	if err := json.Unmarshal([]byte(v), &se); err != nil {
		return storedEntry{}, fmt.Errorf("%w: ledger entry %s in Redis does not decode: %v", store.ErrDamaged, id, err)
	}
	return se, nil
}

// member is an event's sorted-set member: unique (entry ID and index), with its exact
// time and weight, which the window sums read.
func member(id string, i int, ev store.Event) string {
	return id + "#" + strconv.Itoa(i) + "#" + strconv.FormatInt(nanos(ev.At), 10) + "#" + strconv.Itoa(ev.Weight)
}

// parseMember returns a member's event time (Unix ns) and weight.
func parseMember(m string) (at int64, weight int, ok bool) {
	parts := strings.Split(m, "#")
	if len(parts) < 4 {
		return 0, 0, false
	}
	at, err1 := strconv.ParseInt(parts[len(parts)-2], 10, 64)
	w, err2 := strconv.Atoi(parts[len(parts)-1])
	return at, w, err1 == nil && err2 == nil
}

// Abandon stops the heartbeat without deleting the owner key or closing anything, as a
// killed process would: for tests of dead-replica recovery.
func (s *Redis) Abandon() {
	if s.isView {
		s.closedV.Store(true)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	<-s.done
	if s.owned {
		_ = s.rdb.Close()
	}
}
