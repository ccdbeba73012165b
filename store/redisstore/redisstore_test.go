package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore"
	"github.com/agentphone-mcp/agentphone-mcp/store/redisstore/redistest"
	"github.com/agentphone-mcp/agentphone-mcp/store/storetest"
)

// srv is the real redis-server the package's tests share; each test uses its own key
// prefix, so tests never see each other's state.
var srv *redistest.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "redisstore-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv, err = redistest.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var prefixes atomic.Int64

// newPrefix is a key prefix no other test uses.
func newPrefix() string { return fmt.Sprintf("test%d-%d", os.Getpid(), prefixes.Add(1)) }

func open(t *testing.T, opts redisstore.Options) *redisstore.Redis {
	t.Helper()
	s, err := redisstore.Open(context.Background(), redisstore.Conn{URL: srv.URL()}, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestEngine runs the engine behaviour suite, unchanged, on a real Redis: each opener
// call is a separate Store with its own connection pool, as another replica would be.
func TestEngine(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clk clockwork.Clock) func() store.Store {
		prefix := newPrefix()
		return func() store.Store { return open(t, redisstore.Options{Clock: clk, Prefix: prefix}) }
	})
}

// TestCapAcrossReplicas: two replicas (separate stores and connection pools), many
// goroutines each, reserve against one cap of 5 on one key: exactly 5 succeed, and the
// conflicts the optimistic transactions hit are retried, never reported as failures.
func TestCapAcrossReplicas(t *testing.T) {
	prefix := newPrefix()
	replicas := []*redisstore.Redis{open(t, redisstore.Options{Prefix: prefix}), open(t, redisstore.Options{Prefix: prefix})}
	for _, r := range replicas {
		t.Cleanup(func() { _ = r.Close() })
	}
	const limit, workers = 5, 20
	var won atomic.Int64
	var wg sync.WaitGroup
	refused := errors.New("cap reached")
	now := time.Now()
	for i := range 2 * workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := store.FactQuery{Windows: []store.Window{{Key: "sms:+16502530000", Since: now.Add(-time.Hour)}}}
			_, err := replicas[i%2].Reserve(context.Background(), q, func(f store.Facts) (store.Entry, error) {
				if f.Sums[0] >= limit {
					return store.Entry{}, refused
				}
				return store.Entry{Kind: "sms", Recipients: []string{"+16502530000"}, Events: []store.Event{{Key: "sms:+16502530000", At: now, Weight: 1}}}, nil
			})
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, refused):
				t.Errorf("Reserve: %v", err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != limit {
		t.Fatalf("%d reservations passed a cap of %d across two replicas", won.Load(), limit)
	}
	pending, err := replicas[1].Entries(context.Background(), store.EntryFilter{States: []store.State{store.Pending}})
	if err != nil || len(pending) != limit {
		t.Fatalf("pending entries = %d, %v; want %d", len(pending), err, limit)
	}
}

// TestKeysExpire: window keys carry a TTL of the retention and are pruned to it; settled
// entries expire; pending ones do not; nonces and delivery IDs carry their own TTL.
func TestKeysExpire(t *testing.T) {
	prefix := newPrefix()
	s := open(t, redisstore.Options{Prefix: prefix, EventRetention: time.Hour})
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	rdb := s.Client()
	now := time.Now()
	old, err := s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "sms", Events: []store.Event{{Key: "k", At: now.Add(-2 * time.Hour), Weight: 1}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "sms", Events: []store.Event{{Key: "k", At: now, Weight: 1}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	evKey := "{" + prefix + "}:ev:k"
	if n, _ := rdb.ZCard(ctx, evKey).Result(); n != 1 {
		t.Errorf("window key holds %d events; the one older than the retention must be pruned", n)
	}
	if d, _ := rdb.PTTL(ctx, evKey).Result(); d <= 0 || d > time.Hour+2*time.Minute {
		t.Errorf("window key TTL = %v; want about the retention", d)
	}
	if d, _ := rdb.PTTL(ctx, s.Key("led:"+e.ID)).Result(); d != -1 {
		t.Errorf("a pending entry has TTL %v; it must live until settled", d)
	}
	if _, err := s.Settle(ctx, e.ID, store.Settlement{State: store.Sent}); err != nil {
		t.Fatal(err)
	}
	if d, _ := rdb.PTTL(ctx, s.Key("led:"+e.ID)).Result(); d <= 0 {
		t.Errorf("a settled entry has TTL %v; it must expire after the retention", d)
	}
	_ = old
	if _, err := s.UseNonce(ctx, "n1", now.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if d, _ := rdb.PTTL(ctx, s.Key("nonce:n1")).Result(); d < 5*time.Minute || d > 7*time.Minute {
		t.Errorf("nonce TTL = %v; want its token's life plus the skew margin", d)
	}
	if _, err := s.SeenDelivery(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	if d, _ := rdb.PTTL(ctx, s.Key("delivery:d1")).Result(); d < store.DefaultDeliveryTTL {
		t.Errorf("delivery TTL = %v", d)
	}
}

// TestDeadReplicaRecovered: a replica that dies without closing (its heartbeat stops)
// has its pending entries recovered as unknown once its heartbeat key expires.
func TestDeadReplicaRecovered(t *testing.T) {
	prefix := newPrefix()
	ctx := context.Background()
	dying := open(t, redisstore.Options{Prefix: prefix, OwnerTTL: 300 * time.Millisecond})
	living := open(t, redisstore.Options{Prefix: prefix})
	t.Cleanup(func() { _ = living.Close() })
	e, err := dying.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "call", Events: []store.Event{{Key: "calls", At: time.Now(), Weight: 1}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := living.RecoverAbandoned(ctx); err != nil || len(got) != 0 {
		t.Fatalf("recovered %v, %v while the owner beats", got, err)
	}
	dying.Abandon() // the process is gone: no more heartbeats, no Close
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := living.RecoverAbandoned(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].ID == e.ID && got[0].State == store.Unknown {
			break
		}
		if len(got) != 0 || time.Now().After(deadline) {
			t.Fatalf("RecoverAbandoned = %+v; want the dead replica's entry once its heartbeat key expired", got)
		}
		time.Sleep(50 * time.Millisecond) // the heartbeat TTL runs on the Redis server's clock
	}
}

// TestRedisDownFailsClosed: with Redis stopped, every counted action is refused with an
// error naming Redis (store.ErrUnavailable) and nothing is reserved; when Redis is back
// (here: a fresh server on the same port), service resumes without a restart.
func TestRedisDownFailsClosed(t *testing.T) {
	dir := t.TempDir()
	own, err := redistest.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Stop)
	ctx := context.Background()
	s, err := redisstore.Open(ctx, redisstore.Conn{URL: own.URL()}, redisstore.Options{Prefix: newPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	reserve := func() error {
		_, err := s.Reserve(ctx, store.FactQuery{Windows: []store.Window{{Key: "k", Since: time.Now().Add(-time.Hour)}}}, func(store.Facts) (store.Entry, error) {
			return store.Entry{Kind: "sms", Events: []store.Event{{Key: "k", At: time.Now(), Weight: 1}}}, nil
		})
		return err
	}
	if err := reserve(); err != nil {
		t.Fatal(err)
	}
	own.Stop()
	err = reserve()
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "Redis at "+own.Addr()) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("Reserve with Redis down: %v; want ErrUnavailable naming Redis and saying nothing changed", err)
	}
	for name, op := range map[string]func() error{
		"UseNonce":     func() error { _, err := s.UseNonce(ctx, "n", time.Now().Add(time.Minute)); return err },
		"SeenDelivery": func() error { _, err := s.SeenDelivery(ctx, "d"); return err },
		"AddOptOut":    func() error { _, err := s.AddOptOut(ctx, store.OptOut{E164: "+16502530000"}); return err },
		"IsOptedOut":   func() error { _, err := s.IsOptedOut(ctx, "+16502530000", store.ChannelSMS); return err },
		"Ping":         func() error { return s.Ping(ctx) },
	} {
		if err := op(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with Redis down: %v; want ErrUnavailable", name, err)
		}
	}
	if err := own.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := reserve(); err != nil {
		t.Fatalf("Reserve after Redis came back: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after Redis came back: %v", err)
	}
}

func TestClientOptions(t *testing.T) {
	pw := t.TempDir() + "/pw"
	if err := os.WriteFile(pw, []byte("s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := redisstore.ClientOptions(redisstore.Conn{URL: "rediss://:inurl@redis.example:6380/2", PasswordFile: pw})
	if err != nil {
		t.Fatal(err)
	}
	if o.TLSConfig == nil || o.Addr != "redis.example:6380" || o.DB != 2 || o.Password != "s3cret-from-file" {
		t.Errorf("options = addr %s db %d tls %v password from file %v", o.Addr, o.DB, o.TLSConfig != nil, o.Password == "s3cret-from-file")
	}
	o, err = redisstore.ClientOptions(redisstore.Conn{URL: "redis://127.0.0.1:6379"})
	if err != nil || o.TLSConfig != nil {
		t.Errorf("plain redis:// = %v, tls %v", err, o != nil && o.TLSConfig != nil)
	}
	for _, bad := range []string{"http://x", "redis://:hunter2hunter2@[::1", ""} {
		_, err := redisstore.ClientOptions(redisstore.Conn{URL: bad})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ClientOptions(%q) err = %v; want an error without the password", bad, err)
		}
	}
	if _, err := redisstore.ClientOptions(redisstore.Conn{URL: "redis://x:1", PasswordFile: t.TempDir() + "/missing"}); err == nil || !strings.Contains(err.Error(), "AGENTPHONE_REDIS_PASSWORD_FILE") {
		t.Errorf("missing password file err = %v", err)
	}
}

// TestWatchInbound: an inbound event appended by one replica reaches the watchers on the
// others (not its own, which handled it already).
func TestWatchInbound(t *testing.T) {
	prefix := newPrefix()
	a, b := open(t, redisstore.Options{Prefix: prefix}), open(t, redisstore.Options{Prefix: prefix})
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gotA, gotB := make(chan store.Inbound, 4), make(chan store.Inbound, 4)
	if err := a.WatchInbound(ctx, func(in store.Inbound) { gotA <- in }); err != nil {
		t.Fatal(err)
	}
	if err := b.WatchInbound(ctx, func(in store.Inbound) { gotB <- in }); err != nil {
		t.Fatal(err)
	}
	if err := a.AppendInbound(ctx, "sms", "msg_1", []byte(`{"body":"hi"}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-gotB:
		if in.ID != "msg_1" || in.Kind != "sms" || string(in.Payload) != `{"body":"hi"}` || in.Seq == 0 {
			t.Fatalf("replica B got %+v", in)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replica B never heard of the event replica A stored")
	}
	if err := b.AppendInbound(ctx, "sms", "msg_2", []byte(`{}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-gotA:
		if in.ID != "msg_2" {
			t.Fatalf("replica A got %+v; its own msg_1 must not come back to it", in)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("replica A never heard of the event replica B stored")
	}
}

// TestTLSAndPassword: rediss:// with a private CA and a password from a file works; the
// wrong password, a missing CA, and plain redis:// to the TLS port are refused with
// ErrUnavailable, and no error shows the password.
func TestTLSAndPassword(t *testing.T) {
	const pass = "correct-horse-battery-staple-42"
	dir := t.TempDir()
	r, err := redistest.StartWith(dir, redistest.Config{TLS: true, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	pwFile, wrongFile := dir+"/pw", dir+"/wrong"
	_ = os.WriteFile(pwFile, []byte(pass+"\n"), 0o600)
	_ = os.WriteFile(wrongFile, []byte("not-the-password\n"), 0o600)
	ctx := context.Background()
	s, err := redisstore.Open(ctx, redisstore.Conn{URL: r.URL(), PasswordFile: pwFile, CAFile: r.CAFile}, redisstore.Options{Prefix: newPrefix()})
	if err != nil {
		t.Fatalf("rediss:// with the CA and password: %v", err)
	}
	defer s.Close()
	if ok, err := s.UseNonce(ctx, "tls-nonce", time.Now().Add(time.Minute)); !ok || err != nil {
		t.Fatalf("UseNonce over TLS = %v, %v", ok, err)
	}
	for name, c := range map[string]redisstore.Conn{
		"wrong password": {URL: r.URL(), PasswordFile: wrongFile, CAFile: r.CAFile},
		"no password":    {URL: r.URL(), CAFile: r.CAFile},
		"unknown CA":     {URL: r.URL(), PasswordFile: pwFile},
		"plain to TLS":   {URL: strings.Replace(r.URL(), "rediss://", "redis://", 1), PasswordFile: pwFile},
	} {
		_, err := redisstore.Open(ctx, c, redisstore.Options{Prefix: newPrefix()})
		if !errors.Is(err, store.ErrUnavailable) || strings.Contains(err.Error(), pass) {
			t.Errorf("%s: Open = %v; want ErrUnavailable without the password", name, err)
		}
	}
	if _, err := redisstore.ClientOptions(redisstore.Conn{URL: "redis://127.0.0.1:1", CAFile: r.CAFile}); err == nil {
		t.Error("a CA file with a plain redis:// URL was accepted")
	}
}

// TestRefusesEvictingRedis: a Redis that may evict keys could drop opt-outs and used
// tokens silently, so Open refuses it, naming the setting to change.
func TestRefusesEvictingRedis(t *testing.T) {
	r, err := redistest.StartWith(t.TempDir(), redistest.Config{MaxMemoryPolicy: "allkeys-lru"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	_, err = redisstore.Open(context.Background(), redisstore.Conn{URL: r.URL()}, redisstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "maxmemory-policy noeviction") {
		t.Fatalf("Open on an evicting Redis = %v; want a refusal naming maxmemory-policy noeviction", err)
	}
}
