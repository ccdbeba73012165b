package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	bolt "go.etcd.io/bbolt"

	"github.com/agentphone-mcp/agentphone-mcp/store"
	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
	"github.com/agentphone-mcp/agentphone-mcp/store/storetest"
)

var t0 = storetest.T0

// TestEngine runs the engine behaviour suite on bbolt. Each opener call is a separate
// open of the same state dir, as another process would make (separate lock files
// descriptions, so the flocks really exclude).
func TestEngine(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clk clockwork.Clock) func() store.Store {
		dir := t.TempDir()
		return func() store.Store {
			s, err := store.Open(dir, store.Options{Clock: clk, LockTimeout: 30 * time.Second})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
	})
}

func openTest(t testing.TB, dir string, clk clockwork.Clock) *store.Bolt {
	t.Helper()
	s, err := store.Open(dir, store.Options{Clock: clk, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func reserve(t testing.TB, s store.Store, key string) store.Entry {
	t.Helper()
	e, err := s.Reserve(context.Background(), store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "sms", Recipients: []string{"+16502530000"}, CreatedAt: t0, Events: []store.Event{{Key: key, At: t0, Weight: 1}}}, nil
	})
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	return e
}

func sum(t testing.TB, s store.Store, key string, since time.Time) int {
	t.Helper()
	f, err := s.Facts(context.Background(), store.FactQuery{Windows: []store.Window{{Key: key, Since: since}}})
	if err != nil {
		t.Fatalf("Facts: %v", err)
	}
	return f.Sums[0]
}

func TestOpenModes(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, clockwork.NewFakeClockAt(t0))
	for _, name := range []string{store.FileName, store.LockFileName, filepath.Join(store.OwnersDir, s.Owner()+".lock")} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if live, err := store.LiveOwners(dir); err != nil || len(live) != 1 || live[0] != s.Owner() {
		t.Errorf("LiveOwners = %v, %v; want [%s]", live, err, s.Owner())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if live, err := store.LiveOwners(dir); err != nil || len(live) != 0 {
		t.Errorf("LiveOwners after Close = %v, %v; want none", live, err)
	}
	if _, err := store.Open("", store.Options{}); err == nil {
		t.Error(`Open("") succeeded`)
	}
}

// TestInUse covers the two ways the state can stay locked: another process stuck inside a
// transaction (holding state.lock), and an older agentphone-mcp holding state.db for its
// lifetime. Either way nothing is reserved, and the error says what to do.
func TestInUse(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{LockTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lf, err := os.OpenFile(filepath.Join(dir, store.LockFileName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := filelock.Lock(ctx, lf, true, 0); err != nil {
		t.Fatal(err)
	}
	_, err = s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return store.Entry{Kind: "sms"}, nil })
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "stop the stuck process") {
		t.Errorf("Reserve under a foreign exclusive lock: err = %v, want ErrInUse with advice", err)
	}
	if _, err := s.IsOptedOut(ctx, "+15550000001", store.ChannelSMS); !errors.Is(err, store.ErrInUse) {
		t.Errorf("IsOptedOut under a foreign exclusive lock: err = %v", err)
	}
	if err := filelock.Unlock(lf); err != nil {
		t.Fatal(err)
	}
	// A foreign reader blocks writers but not readers.
	if err := filelock.Lock(ctx, lf, false, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IsOptedOut(ctx, "+15550000001", store.ChannelSMS); err != nil {
		t.Errorf("IsOptedOut beside a foreign reader: %v", err)
	}
	if _, err := s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return store.Entry{Kind: "sms"}, nil }); !errors.Is(err, store.ErrInUse) {
		t.Errorf("Reserve beside a foreign reader: err = %v", err)
	}
	if err := filelock.Unlock(lf); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return store.Entry{Kind: "sms"}, nil }); !errors.Is(err, store.ErrInUse) {
		t.Errorf("Reserve beside a lifetime holder: err = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if list, err := s.Entries(ctx, store.EntryFilter{}); err != nil || len(list) != 0 {
		t.Errorf("the refused reservations left entries: %+v, %v", list, err)
	}
}

// populated makes a state dir with enough in it to span several pages.
func populated(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{Clock: clockwork.NewFakeClockAt(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 300 {
		if _, err := s.AddOptOut(ctx, store.OptOut{E164: fmt.Sprintf("+1650253%04d", i), Reason: strings.Repeat("r", 40)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		reserve(t, s, "sms:+16502530000")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDamagedStateFile: a truncated, emptied or overwritten state.db is refused with a clear
// error naming `state rebuild`, never a panic or SIGBUS.
func TestDamagedStateFile(t *testing.T) {
	damage := map[string]func(t *testing.T, path string){
		"truncated to 8 KB": func(t *testing.T, p string) { must(t, os.Truncate(p, 8<<10)) },
		"truncated mid-page": func(t *testing.T, p string) {
			fi, _ := os.Stat(p)
			must(t, os.Truncate(p, fi.Size()/2+123))
		},
		"meta pages overwritten": func(t *testing.T, p string) { overwrite(t, p, 0, 2*4096) },
		"data pages overwritten": func(t *testing.T, p string) {
			fi, _ := os.Stat(p)
			overwrite(t, p, 2*4096, fi.Size()-2*4096)
		},
		"one page overwritten": func(t *testing.T, p string) { overwrite(t, p, 3*4096, 4096) },
		"random bytes": func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte("not a database at all, just text"), 0o600))
		},
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			dir := populated(t)
			fn(t, filepath.Join(dir, store.FileName))
			s, err := store.Open(dir, store.Options{RequireExisting: true})
			if err == nil {
				// Damage the open itself did not catch must fail the first read instead.
				_, err = s.ListOptOuts(context.Background())
				_ = s.Close()
			}
			if !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), "state rebuild") {
				t.Fatalf("err = %v; want ErrDamaged naming `state rebuild`", err)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

// TestDamagedWhileRunning: the file is truncated under an open store; the next operation
// fails with ErrDamaged instead of killing the process.
func TestDamagedWhileRunning(t *testing.T) {
	dir := populated(t)
	s := openTest(t, dir, clockwork.NewFakeClockAt(t0))
	must(t, os.Truncate(filepath.Join(dir, store.FileName), 8<<10))
	_, err := s.Reserve(context.Background(), store.FactQuery{}, func(store.Facts) (store.Entry, error) { return store.Entry{Kind: "sms"}, nil })
	if !errors.Is(err, store.ErrDamaged) {
		t.Fatalf("Reserve on a truncated file: err = %v, want ErrDamaged", err)
	}
}

func overwrite(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, n)
	for i := range junk {
		junk[i] = byte(i*7 + 13)
	}
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
}

func TestRequireExisting(t *testing.T) {
	dir := t.TempDir()
	if _, err := store.Open(dir, store.Options{RequireExisting: true}); !errors.Is(err, store.ErrMissing) || !strings.Contains(err.Error(), "state rebuild") {
		t.Errorf("missing file: err = %v, want ErrMissing naming `state rebuild`", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, store.FileName), nil, 0o600))
	if _, err := store.Open(dir, store.Options{RequireExisting: true}); !errors.Is(err, store.ErrMissing) || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: err = %v, want ErrMissing saying it is empty", err)
	}
	s, err := store.Open(dir, store.Options{}) // no history: an empty file is initialised
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
	s, err = store.Open(dir, store.Options{RequireExisting: true})
	if err != nil {
		t.Fatalf("existing file: %v", err)
	}
	must(t, s.Close())
}

// TestSweep: keys written once (a duplicate-SMS key per message) and settled entries are
// deleted by the hourly sweep once they leave the retention window; pending entries stay.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	clk := clockwork.NewFakeClockAt(t0)
	s, err := store.Open(t.TempDir(), store.Options{Clock: clk, EventRetention: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pending store.Entry
	for i := range 20 {
		e, err := s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
			return store.Entry{Kind: "sms", CreatedAt: clk.Now(), Events: []store.Event{{Key: fmt.Sprintf("sms_dup:+1415555%04d", i), At: clk.Now(), Weight: 1}}}, nil
		})
		must(t, err)
		if i == 0 {
			pending = e
			continue
		}
		_, err = s.Settle(ctx, e.ID, store.Settlement{State: store.Sent})
		must(t, err)
	}
	if n, _ := s.EventKeys(ctx); n != 20 {
		t.Fatalf("%d keys, want 20", n)
	}
	clk.Advance(3 * time.Hour)
	_, err = s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) {
		return store.Entry{Kind: "call", Events: []store.Event{{Key: "calls", At: clk.Now(), Weight: 1}}}, nil
	})
	must(t, err)
	if n, _ := s.EventKeys(ctx); n != 1 {
		t.Errorf("after the sweep %d keys remain, want 1 (the fresh one)", n)
	}
	list, err := s.Entries(ctx, store.EntryFilter{})
	must(t, err)
	if len(list) != 2 || list[1].ID != pending.ID {
		t.Errorf("after the sweep: %d entries %+v; want the fresh one and the old pending one", len(list), list)
	}
}

func TestContextCancelled(t *testing.T) {
	s := openTest(t, t.TempDir(), clockwork.NewFakeClockAt(t0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Reserve(ctx, store.FactQuery{}, func(store.Facts) (store.Entry, error) { return store.Entry{Kind: "sms"}, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Reserve err = %v", err)
	}
	if _, err := s.IsOptedOut(ctx, "+16502530000", store.ChannelSMS); !errors.Is(err, context.Canceled) {
		t.Errorf("IsOptedOut err = %v", err)
	}
}

func TestOldOptOutFormat(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, clockwork.NewFakeClockAt(t0))
	must(t, s.Close())
	// An opt-out as the previous release wrote it: the bare number, no channel.
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("optouts")).Put([]byte("+16502530009"), []byte(`{"e164":"+16502530009","at":"2026-01-01T00:00:00Z","reason":"inbound STOP"}`))
	}))
	must(t, db.Close())
	s = openTest(t, dir, clockwork.NewFakeClockAt(t0))
	for _, ch := range []string{store.ChannelSMS, store.ChannelCall} {
		if ok, err := s.IsOptedOut(context.Background(), "+16502530009", ch); !ok || err != nil {
			t.Errorf("old opt-out, channel %s = %v, %v; want opted out of everything", ch, ok, err)
		}
	}
	list, err := s.ListOptOuts(context.Background())
	if err != nil || len(list) != 1 || list[0].Channel != store.ChannelAll || list[0].Reason != "inbound STOP" {
		t.Errorf("list = %+v, %v", list, err)
	}
}

func TestScopedKey(t *testing.T) {
	for _, tt := range []struct{ account, key, want string }{
		{"", "calls", "calls"},
		{"", "global/calls", "global/calls"},
		{"acc1", "calls", "acct/acc1/calls"},
		{"acc1", "global/calls", "global/calls"},
	} {
		if got := store.ScopedKey(tt.account, tt.key); got != tt.want {
			t.Errorf("ScopedKey(%q, %q) = %q, want %q", tt.account, tt.key, got, tt.want)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
